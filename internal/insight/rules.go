package insight

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// Rule is one alert rule: a named condition over the windows of one stream
// and speaker.
type Rule struct {
	// Name names the rule in its alerts; required, unique.
	Name string
	// Speaker, when set, restricts the rule to that speaker's windows.
	// Empty: the rule watches every speaker of a stream separately.
	Speaker string
	// When is the condition in the rule language, one of:
	//
	//	label LABEL for N consecutive windows
	//	mean score over the last N windows below T
	//	score drop of D within DURATION
	//	conflict in N of the last M windows
	//
	// LABEL is negative, neutral or positive; N and M are positive
	// integers (N <= M); T is a score in [-1, 1]; D is a score difference
	// in (0, 2]; DURATION is a Go duration such as 30s. A score is
	// P(positive) - P(negative) of the fused prediction.
	When string
	cond condition
}

// condition is a parsed rule condition: it looks at a speaker's recent
// windows, newest last, and tells whether it holds, with the triggering
// events and the measured value.
type condition interface {
	// eval reports whether the condition holds after the newest window.
	eval(h []window) (ok bool, ids []string, value float64)
	// keep is how many of the newest windows eval needs, and for a time
	// span how far back from the newest window's end.
	keep() (n int, span time.Duration)
}

// window is what the rules and summaries keep of one event.
type window struct {
	id       string
	start    time.Time
	end      time.Time
	label    event.Label
	score    float64
	conflict bool
	disagree [3]bool // per modality: present and not agreeing
}

// ErrRule wraps every error of ParseRule.
var ErrRule = errors.New("insight: rule")

// ParseRule parses and checks a rule's condition.
func ParseRule(r Rule) (Rule, error) {
	if r.Name == "" {
		return r, fmt.Errorf("%w: name required", ErrRule)
	}
	c, err := parseCondition(r.When)
	if err != nil {
		return r, fmt.Errorf("%w %q: %w", ErrRule, r.Name, err)
	}
	r.cond = c
	return r, nil
}

func parseCondition(s string) (condition, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 6 && f[0] == "label" && f[2] == "for" && f[4] == "consecutive" && f[5] == "windows":
		const form = "label LABEL for N consecutive windows"
		l := event.Label(f[1])
		if !l.Valid() {
			return nil, fmt.Errorf("%s: %q is not negative, neutral or positive", form, f[1])
		}
		n, err := count(f[3], form)
		if err != nil {
			return nil, err
		}
		return labelRun{label: l, n: n}, nil
	case len(f) == 9 && strings.Join(f[:5], " ") == "mean score over the last" && f[6] == "windows" && f[7] == "below":
		const form = "mean score over the last N windows below T"
		n, err := count(f[5], form)
		if err != nil {
			return nil, err
		}
		t, err := strconv.ParseFloat(f[8], 64)
		if err != nil || t < -1 || t > 1 {
			return nil, fmt.Errorf("%s: T %q is not a score in [-1, 1]", form, f[8])
		}
		return meanBelow{n: n, threshold: t}, nil
	case len(f) == 6 && f[0] == "score" && f[1] == "drop" && f[2] == "of" && f[4] == "within":
		const form = "score drop of D within DURATION"
		d, err := strconv.ParseFloat(f[3], 64)
		if err != nil || !(d > 0 && d <= 2) {
			return nil, fmt.Errorf("%s: D %q is not a score difference in (0, 2]", form, f[3])
		}
		span, err := time.ParseDuration(f[5])
		if err != nil || span <= 0 {
			return nil, fmt.Errorf("%s: DURATION %q is not a positive duration such as 30s", form, f[5])
		}
		return scoreDrop{drop: d, span: span}, nil
	case len(f) == 8 && f[0] == "conflict" && f[1] == "in" && f[3] == "of" && f[4] == "the" && f[5] == "last" && f[7] == "windows":
		const form = "conflict in N of the last M windows"
		n, err := count(f[2], form)
		if err != nil {
			return nil, err
		}
		m, err := count(f[6], form)
		if err != nil {
			return nil, err
		}
		if n > m {
			return nil, fmt.Errorf("%s: N %d above M %d", form, n, m)
		}
		return conflictIn{n: n, m: m}, nil
	}
	return nil, fmt.Errorf("%q is not a condition (want one of: label LABEL for N consecutive windows; "+
		"mean score over the last N windows below T; score drop of D within DURATION; conflict in N of the last M windows)", s)
}

// maxRuleWindows bounds N and M, and so the windows a rule keeps per
// speaker.
const maxRuleWindows = 1000

func count(s, form string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxRuleWindows {
		return 0, fmt.Errorf("%s: %q is not a count in [1, %d]", form, s, maxRuleWindows)
	}
	return n, nil
}

func ids(h []window) []string {
	out := make([]string, len(h))
	for i, w := range h {
		out[i] = w.id
	}
	return out
}

// labelRun: the last n windows all have the label.
type labelRun struct {
	label event.Label
	n     int
}

func (c labelRun) keep() (int, time.Duration) { return c.n, 0 }

func (c labelRun) eval(h []window) (bool, []string, float64) {
	if len(h) < c.n {
		return false, nil, 0
	}
	last := h[len(h)-c.n:]
	for _, w := range last {
		if w.label != c.label {
			return false, nil, 0
		}
	}
	return true, ids(last), float64(c.n)
}

// meanBelow: the mean score of the last n windows is below the threshold.
type meanBelow struct {
	n         int
	threshold float64
}

func (c meanBelow) keep() (int, time.Duration) { return c.n, 0 }

func (c meanBelow) eval(h []window) (bool, []string, float64) {
	if len(h) < c.n {
		return false, nil, 0
	}
	last := h[len(h)-c.n:]
	var sum float64
	for _, w := range last {
		sum += w.score
	}
	mean := sum / float64(c.n)
	if mean >= c.threshold {
		return false, nil, 0
	}
	return true, ids(last), mean
}

// scoreDrop: the newest window's score is at least drop below the highest
// score of a window that ended within span before the newest one ended.
type scoreDrop struct {
	drop float64
	span time.Duration
}

func (c scoreDrop) keep() (int, time.Duration) { return 1, c.span }

func (c scoreDrop) eval(h []window) (bool, []string, float64) {
	if len(h) < 2 {
		return false, nil, 0
	}
	cur := h[len(h)-1]
	top := -1
	for i, w := range h[:len(h)-1] {
		if cur.end.Sub(w.end) > c.span {
			continue
		}
		if top < 0 || w.score > h[top].score {
			top = i
		}
	}
	if top < 0 {
		return false, nil, 0
	}
	d := h[top].score - cur.score
	if d < c.drop {
		return false, nil, 0
	}
	return true, []string{h[top].id, cur.id}, d
}

// conflictIn: at least n of the last m windows have a conflict.
type conflictIn struct{ n, m int }

func (c conflictIn) keep() (int, time.Duration) { return c.m, 0 }

func (c conflictIn) eval(h []window) (bool, []string, float64) {
	last := h[max(0, len(h)-c.m):]
	var hit []string
	for _, w := range last {
		if w.conflict {
			hit = append(hit, w.id)
		}
	}
	if len(hit) < c.n {
		return false, nil, 0
	}
	return true, hit, float64(len(hit))
}
