package align_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
)

// TestOnDrop checks that OnDrop names each stream that lost media and how
// many items, for each reason, matching the drops the scenario implies: 3
// chunks of 8 beyond a buffer of 5, and the 2 chunks each of two streams
// that went quiet without a transcript.
func TestOnDrop(t *testing.T) {
	t.Parallel()
	type drop struct {
		stream, reason string
		items          int
	}
	var got []drop
	c := newClock()
	a := newAligner(t, align.Config{MaxBuffered: 5, IdleTimeout: time.Minute, Now: c.now,
		OnDrop: func(stream string, items int, reason string) { got = append(got, drop{stream, reason, items}) }})
	for _, in := range audioRun("full", 0, 800, 100) {
		mustAdd(t, a, in)
	}
	for i := range 2 {
		for _, in := range audioRun(fmt.Sprintf("quiet-%d", i), 0, 200, 100) {
			mustAdd(t, a, in)
		}
	}
	mustAdd(t, a, seg("full", 0, 800, "a", "x", true))
	c.advance(time.Minute)
	a.Tick()
	overflow, expired := 0, map[string]int{}
	for _, d := range got {
		switch d.reason {
		case "overflow":
			if d.stream != "full" {
				t.Errorf("overflow reported for %q, want full", d.stream)
			}
			overflow += d.items
		case "expired":
			expired[d.stream] += d.items
		default:
			t.Errorf("drop %+v: unknown reason", d)
		}
	}
	if overflow != 3 {
		t.Errorf("overflow drops reported: %d items, want 3", overflow)
	}
	if want := map[string]int{"quiet-0": 2, "quiet-1": 2}; fmt.Sprint(expired) != fmt.Sprint(want) {
		t.Errorf("expired drops reported: %v, want %v", expired, want)
	}
	if st := a.Stats(); st.Overflow != 3 || st.Discarded != 4 {
		t.Errorf("stats %+v, want Overflow 3 and Discarded 4 as reported", st)
	}
}
