package browsertest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/browsertest"
)

// page is a small page that throws once it has loaded.
const page = `<!DOCTYPE html><title>t</title><p id="p">hello</p>
<script>setTimeout(() => { throw new Error("boom from the page"); }, 0);</script>`

func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()

	b, err := browsertest.Start(ctx, t.TempDir())
	if errors.Is(err, browsertest.ErrNoBrowser) {
		t.Fatalf("%v: these tests need a real browser", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}()
	p, err := b.Open(ctx, srv.URL, 320, 200)
	if err != nil {
		t.Fatal(err)
	}

	// Poll until the page has loaded and its exception has been reported.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var text string
	for text != "hello" || len(p.Exceptions()) == 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("page text %q, exceptions %q: %v", text, p.Exceptions(), ctx.Err())
		}
		text = ""
		if err := p.Eval(ctx, `document.getElementById("p")?.textContent ?? ""`, &text); err != nil {
			t.Fatal(err)
		}
	}
	if ex := p.Exceptions(); len(ex) != 1 || !strings.Contains(ex[0], "boom from the page") {
		t.Errorf("Exceptions() = %q, want the page's one error", ex)
	}

	var sum float64
	if err := p.Eval(ctx, `Promise.resolve(40 + 2)`, &sum); err != nil || sum != 42 {
		t.Errorf("Eval of a promise = %v, %v; want 42", sum, err)
	}
	if err := p.Eval(ctx, `(() => { throw new Error("thrown in eval"); })()`, nil); err == nil ||
		!strings.Contains(err.Error(), "thrown in eval") {
		t.Errorf("Eval of a throwing expression: err = %v, want the exception", err)
	}

	shot, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Dx(); got != 320 {
		t.Errorf("screenshot is %d pixels wide, want 320", got)
	}

	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Eval(ctx, "1", nil); !errors.Is(err, browsertest.ErrPageClosed) {
		t.Errorf("Eval on a closed page: err = %v, want ErrPageClosed", err)
	}
}

// Example opens a page in headless Chromium and reads its title. It needs
// Chromium installed (make setup), so it has no checked output.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "browsertest-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(profile)
	b, err := browsertest.Start(ctx, profile)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = b.Close() }()
	p, err := b.Open(ctx, "data:text/html,<title>hello</title>", 800, 600)
	if err != nil {
		fmt.Println(err)
		return
	}
	var title string
	if err := p.Eval(ctx, "document.title", &title); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(title)
}
