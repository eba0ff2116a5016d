package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress draws a one-line bar on a terminal and nothing elsewhere (so
// pipes and logs get only the plain per-step lines).
type progress struct {
	w     io.Writer
	shown bool
}

func newProgress(w io.Writer) *progress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return &progress{w: w}
		}
	}
	return &progress{}
}

// show draws "label [#####.....] done/total".
func (p *progress) show(label string, done, total int) {
	if p.w == nil || total <= 0 {
		return
	}
	const width = 30
	n := min(width, done*width/total)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
	p.shown = true
}

// clear erases the bar before other output.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
