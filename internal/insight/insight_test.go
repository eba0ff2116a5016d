package insight

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// probs returns a distribution with the given score: on negative and
// positive only (label by the sign of the score) or, for a neutral window,
// with half the mass on neutral (|score| < 0.5).
func probs(score float64, neutral bool) event.Probs {
	if neutral {
		return event.Probs{Negative: (0.5 - score) / 2, Neutral: 0.5, Positive: (0.5 + score) / 2}
	}
	return event.Probs{Negative: (1 - score) / 2, Positive: (1 + score) / 2}
}

// spec describes one crafted window.
type spec struct {
	speaker string
	at      time.Duration // window start; windows last 2 s
	score   float64
	neutral bool
	// against lists the modalities ("text", "audio", "vision") whose
	// expert says the opposite of the fused label; "-vision" makes vision
	// absent.
	against []string
}

// craft builds valid events of stream from specs, numbered from 0.
func craft(t *testing.T, stream string, specs ...spec) []event.Event {
	t.Helper()
	var out []event.Event
	for i, s := range specs {
		p := probs(s.score, s.neutral)
		e := event.Event{Schema: event.Schema, EventID: event.ID(stream, event.Utterance, uint64(i)), StreamID: stream, Speaker: s.speaker,
			Window: event.Window{Kind: event.Utterance, Seq: uint64(i), Start: t0.Add(s.at), End: t0.Add(s.at + 2*time.Second)},
			Label:  p.Argmax(), Probs: p, Model: event.Model{Name: "test"}}
		e.Consensus.EmbeddingSimilarity = [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
		for k, m := range []*event.Modality{&e.Modalities.Text, &e.Modalities.Audio, &e.Modalities.Vision} {
			m.RouterWeight = 1.0 / 3
			name := event.ModalityNames[k]
			if slices.Contains(s.against, "-"+name) {
				continue
			}
			q := p
			if slices.Contains(s.against, name) {
				q = probs(-0.9*math.Copysign(1, s.score+1e-9), false)
				if s.neutral {
					q = probs(0.9, false)
				}
			}
			m.Present, m.Probs, m.Label = true, &q, q.Argmax()
		}
		e.Derive()
		if err := e.Validate(); err != nil {
			t.Fatalf("crafted event %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

// recorder is a Publisher that keeps what it gets.
type recorder struct {
	mu   sync.Mutex
	recs []event.Record
}

func (r *recorder) Publish(_ context.Context, recs []event.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, recs...)
	return nil
}

// recordsOf returns the records of type T that r got, in order.
func recordsOf[T event.Record](r *recorder) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, x := range r.recs {
		if v, ok := x.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func (r *recorder) alerts() []*event.Alert { return recordsOf[*event.Alert](r) }

func (r *recorder) summaries() []*event.CallSummary { return recordsOf[*event.CallSummary](r) }

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTracker(t *testing.T, rules ...Rule) (*Tracker, *recorder, *clock) {
	t.Helper()
	rec, clk := &recorder{}, &clock{now: t0}
	tr, err := New(Config{Rules: rules, Tick: -1, Now: clk.Now}, rec)
	if err != nil {
		t.Fatal(err)
	}
	return tr, rec, clk
}

// feed writes the events one by one and returns, per event, the alerts it
// fired as "rule:ids=value".
func feed(t *testing.T, tr *Tracker, rec *recorder, evs []event.Event) []string {
	t.Helper()
	var out []string
	for i := range evs {
		before := len(rec.alerts())
		if err := tr.Write(t.Context(), evs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		var fired []string
		for _, a := range rec.alerts()[before:] {
			if err := schematest.Validate(a); err != nil {
				t.Errorf("alert %s: %v", a.AlertID, err)
			}
			if a.At != evs[i].Window.End || a.AlertID != event.AlertID(a.Rule, evs[i].EventID) {
				t.Errorf("alert %+v: at/id not those of the triggering event %s", a, evs[i].EventID)
			}
			var seqs []string
			for _, id := range a.EventIDs {
				seqs = append(seqs, id[strings.LastIndexByte(id, '/')+1:])
			}
			fired = append(fired, fmt.Sprintf("%s:%s=%.4g", a.Rule, strings.Join(seqs, ","), a.Value))
		}
		out = append(out, strings.Join(fired, " "))
	}
	return out
}

func checkFired(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("alerts per event:\n got %q\nwant %q", got, want)
	}
}

func TestRuleLabelConsecutive(t *testing.T) {
	tr, rec, _ := newTracker(t, Rule{Name: "neg2", When: "label negative for 2 consecutive windows"})
	scores := []float64{0.5, -0.4, -0.6, 0.3, -0.2, -0.7, -0.8, -0.9}
	var specs []spec
	for i, s := range scores {
		specs = append(specs, spec{at: time.Duration(i) * 3 * time.Second, score: s})
	}
	// Fires at the second negative in a row (1, 2), clears at the positive
	// 3, fires again at 5 (4, 5) and stays quiet while the run goes on.
	checkFired(t, feed(t, tr, rec, craft(t, "c", specs...)), []string{"", "", "neg2:1,2=2", "", "", "neg2:4,5=2", "", ""})
	if tr.Alerts() != 2 || tr.Failed() != 0 {
		t.Errorf("Alerts() = %d, Failed() = %d, want 2 and 0", tr.Alerts(), tr.Failed())
	}
}

func TestRuleMeanBelow(t *testing.T) {
	tr, rec, _ := newTracker(t, Rule{Name: "low", When: "mean score over the last 3 windows below -0.25"})
	scores := []float64{0.2, -0.5, -0.6, -0.1, 0.3, -0.9, -0.9}
	var specs []spec
	for i, s := range scores {
		specs = append(specs, spec{at: time.Duration(i) * 3 * time.Second, score: s})
	}
	// Means of the last three: (0.2-0.5-0.6)/3 = -0.3 fires at 2;
	// (-0.5-0.6-0.1)/3 = -0.4 still firing; (-0.6-0.1+0.3)/3 = -0.1333
	// clears; (-0.1+0.3-0.9)/3 = -0.2333 not below; (0.3-0.9-0.9)/3 = -0.5
	// fires at 6.
	checkFired(t, feed(t, tr, rec, craft(t, "c", specs...)), []string{"", "", "low:0,1,2=-0.3", "", "", "", "low:4,5,6=-0.5"})
}

func TestRuleScoreDrop(t *testing.T) {
	tr, rec, _ := newTracker(t, Rule{Name: "drop", When: "score drop of 1 within 30s"})
	evs := craft(t, "c",
		spec{at: 0, score: 0.8},
		spec{at: 10 * time.Second, score: 0.5},
		spec{at: 20 * time.Second, score: -0.3},  // 0.8 - (-0.3) = 1.1 within 20 s: fires
		spec{at: 25 * time.Second, score: -0.35}, // still 1.15: stays firing
		spec{at: 70 * time.Second, score: 0.9},   // clears
		spec{at: 75 * time.Second, score: 0.1},   // drop 0.8: no
		spec{at: 110 * time.Second, score: -0.5}, // 0.9 ended 40 s before: out of span; 0.1 - (-0.5) = 0.6: no
	)
	checkFired(t, feed(t, tr, rec, evs), []string{"", "", "drop:0,2=1.1", "", "", "", ""})
}

func TestRuleConflictInLast(t *testing.T) {
	tr, rec, _ := newTracker(t, Rule{Name: "conflicts", When: "conflict in 2 of the last 3 windows"})
	evs := craft(t, "c",
		spec{at: 0, score: 0.6, against: []string{"text"}},
		spec{at: 3 * time.Second, score: 0.6},
		spec{at: 6 * time.Second, score: -0.6, against: []string{"vision"}}, // 0 and 2 of 0..2: fires
		spec{at: 9 * time.Second, score: -0.6},                              // only 2 of 1..3: stays
		spec{at: 12 * time.Second, score: -0.6},                             // none of 2..4... 2 is out: clears
		spec{at: 15 * time.Second, score: 0.6, against: []string{"audio", "-vision"}},
		spec{at: 18 * time.Second, score: 0.6, against: []string{"text"}}, // 5 and 6: fires
	)
	checkFired(t, feed(t, tr, rec, evs), []string{"", "", "conflicts:0,2=2", "", "", "", "conflicts:5,6=2"})
}

// TestRuleSpeakers checks that a rule with a speaker watches only that
// speaker, and one without watches each speaker of each stream apart.
func TestRuleSpeakers(t *testing.T) {
	tr, rec, _ := newTracker(t,
		Rule{Name: "customer-neg", Speaker: "customer", When: "label negative for 2 consecutive windows"},
		Rule{Name: "any-neg", When: "label negative for 2 consecutive windows"})
	evs := craft(t, "a",
		spec{speaker: "customer", at: 0, score: -0.5},
		spec{speaker: "agent", at: 3 * time.Second, score: -0.5},
		spec{speaker: "agent", at: 6 * time.Second, score: -0.5},    // agent's second: any-neg only
		spec{speaker: "customer", at: 9 * time.Second, score: -0.5}, // customer's second: both
	)
	got := feed(t, tr, rec, evs)
	got = append(got, feed(t, tr, rec, craft(t, "b", spec{speaker: "customer", score: -0.5}))...) // another stream: its first
	checkFired(t, got, []string{"", "", "any-neg:1,2=2", "customer-neg:0,3=2 any-neg:0,3=2", ""})
	for _, a := range rec.alerts() {
		if a.StreamID != "a" || (a.Rule == "customer-neg" && a.Speaker != "customer") {
			t.Errorf("alert %+v", a)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, when := range []string{
		"", "label angry for 3 consecutive windows", "label negative for 0 consecutive windows",
		"label negative for 3 windows", "mean score over the last 5 windows below -2",
		"mean score over the last x windows below 0", "score drop of 0 within 30s", "score drop of 0.5 within soon",
		"score drop of 0.5 within -1s", "conflict in 4 of the last 3 windows", "conflict in 2 of 3 windows",
		"label negative for 5000 consecutive windows",
	} {
		if _, err := ParseRule(Rule{Name: "r", When: when}); err == nil {
			t.Errorf("ParseRule(%q) succeeded", when)
		}
	}
	if _, err := ParseRule(Rule{When: "conflict in 1 of the last 1 windows"}); err == nil {
		t.Error("a rule without a name parsed")
	}
	dup := Config{Rules: []Rule{{Name: "a", When: "conflict in 1 of the last 1 windows"}, {Name: "a", When: "conflict in 1 of the last 2 windows"}}}
	if err := dup.Validate(); err == nil {
		t.Error("two rules named a validated")
	}
}

// TestSummary checks every field of a summary against values worked out by
// hand for a crafted call: the customer's score falls by 0.2 per window
// every 30 s (a slope of exactly -0.4 per minute), the agent's is flat.
func TestSummary(t *testing.T) {
	tr, rec, _ := newTracker(t)
	var specs []spec
	customer := []float64{0.6, 0.4, 0.2, 0.0, -0.2, -0.4}
	for i, s := range customer {
		sp := spec{speaker: "customer", at: time.Duration(i) * 30 * time.Second, score: s}
		switch i {
		case 3:
			sp.neutral = true // score 0, neutral label
		case 1, 4:
			sp.against = []string{"text"}
		case 5:
			sp.against = []string{"text", "audio"}
		}
		specs = append(specs, sp)
		specs = append(specs, spec{speaker: "agent", at: time.Duration(i)*30*time.Second + 10*time.Second, score: 0.5})
	}
	evs := craft(t, "call-7", specs...)
	if err := tr.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.summaries()); n != 0 {
		t.Fatalf("%d summaries before the end", n)
	}
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	sums := rec.summaries()
	if len(sums) != 1 {
		t.Fatalf("%d summaries, want 1", len(sums))
	}
	s := sums[0]
	if err := schematest.Validate(s); err != nil {
		t.Error(err)
	}
	if s.StreamID != "call-7" || s.Reason != event.EndOfInput || s.Windows != 12 || !s.Start.Equal(t0) ||
		!s.End.Equal(t0.Add(162*time.Second)) || s.SummaryID != "call-7/summary/"+fmt.Sprint(t0.UnixMilli()) || len(s.Speakers) != 2 {
		t.Fatalf("summary %+v", s)
	}
	c, a := s.Speakers[0], s.Speakers[1]
	// Scores pass through probabilities, (1 ± s) / 2: a few ulps off.
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if c.Speaker != "customer" || c.Windows != 6 || a.Speaker != "agent" || a.Windows != 6 {
		t.Fatalf("speakers %+v, %+v", c, a)
	}
	// Labels: 0.6, 0.4, 0.2 positive; 0 neutral; -0.2, -0.4 negative.
	near("share.positive", c.Share.Positive, 0.5)
	near("share.neutral", c.Share.Neutral, 1.0/6)
	near("share.negative", c.Share.Negative, 2.0/6)
	near("mean_score", c.MeanScore, 0.1)
	if c.TrendPerMinute == nil {
		t.Fatal("no trend")
	}
	near("trend_per_minute", *c.TrendPerMinute, -0.4)
	near("first_third", c.FirstThirdMeanScore, 0.5)
	near("last_third", c.LastThirdMeanScore, -0.3)
	if c.MostNegativeEventID != "call-7/utt/10" {
		t.Errorf("most negative %s, want call-7/utt/10", c.MostNegativeEventID)
	}
	near("most_negative_score", c.MostNegativeScore, -0.4)
	if c.ConflictWindows != 3 || c.Disagreements != (event.Disagreements{Text: 3, Audio: 1}) || c.MostDisagreeingModality != "text" {
		t.Errorf("conflicts %d, disagreements %+v, most %q", c.ConflictWindows, c.Disagreements, c.MostDisagreeingModality)
	}
	near("agent trend", *a.TrendPerMinute, 0)
	if a.ConflictWindows != 0 || a.MostDisagreeingModality != "" || a.Share.Positive != 1 {
		t.Errorf("agent %+v", a)
	}
}

// TestSummaryEnds checks the end-of-call marker (after the grace period, on
// the clock), the idle timeout, one window (no trend) and a stream that
// comes back after its summary.
func TestSummaryEnds(t *testing.T) {
	tr, rec, clk := newTracker(t)
	write := func(evs []event.Event) {
		if err := tr.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	write(craft(t, "marked", spec{score: 0.2}))
	write(craft(t, "idle", spec{score: -0.2}))
	tr.EndStream("marked")
	tr.EndStream("unknown") // no event by the end of the grace: no summary
	clk.advance(DefaultEndGrace - time.Millisecond)
	tr.Tick(t.Context())
	if n := len(rec.summaries()); n != 0 {
		t.Fatalf("%d summaries before the grace period ended", n)
	}
	clk.advance(time.Millisecond)
	tr.Tick(t.Context())
	s := rec.summaries()
	if len(s) != 1 || s[0].StreamID != "marked" || s[0].Reason != event.EndOfCall || s[0].Speakers[0].TrendPerMinute != nil {
		t.Fatalf("after the grace: %+v", s)
	}
	// The marker overtakes the call's last windows: they still count.
	tr.EndStream("overtaken")
	clk.advance(DefaultEndGrace / 2)
	write(craft(t, "overtaken", spec{score: 0.5}))
	clk.advance(DefaultEndGrace / 2)
	tr.Tick(t.Context())
	if s = rec.summaries(); len(s) != 2 || s[1].StreamID != "overtaken" || s[1].Windows != 1 || s[1].Reason != event.EndOfCall {
		t.Fatalf("after the overtaken marker's grace: %+v", s)
	}

	clk.advance(DefaultIdleTimeout)
	tr.Tick(t.Context())
	s = rec.summaries()
	if len(s) != 3 || s[2].StreamID != "idle" || s[2].Reason != event.Idle {
		t.Fatalf("after the idle timeout: %+v", s)
	}
	for _, x := range s {
		if err := schematest.Validate(x); err != nil {
			t.Error(err)
		}
	}
	write(craft(t, "marked", spec{score: 0.4}))
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s = rec.summaries(); len(s) != 4 || s[3].StreamID != "marked" || s[3].Reason != event.EndOfInput || s[3].Windows != 1 {
		t.Fatalf("after Close: %+v", s)
	}
	if err := tr.Write(t.Context(), nil); err == nil {
		t.Error("Write after Close succeeded")
	}
	if tr.Summaries() != 4 {
		t.Errorf("Summaries() = %d, want 4", tr.Summaries())
	}
}

func TestSummaryWindowLimit(t *testing.T) {
	rec := &recorder{}
	tr, err := New(Config{Tick: -1, MaxWindows: 2}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(t.Context(), craft(t, "long", spec{score: 0.1}, spec{at: 3 * time.Second, score: 0.2}, spec{at: 6 * time.Second, score: 0.3})); err != nil {
		t.Fatal(err)
	}
	tr.Close(t.Context())
	s := rec.summaries()
	if len(s) != 2 || s[0].Reason != event.WindowLimit || s[0].Windows != 2 || s[1].Windows != 1 {
		t.Fatalf("summaries %+v", s)
	}
}

type failing struct{}

func (failing) Publish(context.Context, []event.Record) error { return fmt.Errorf("broker away") }

// TestPublishFailure checks that a failing publisher is counted and does
// not keep the records from the others, nor fail the events' Write.
func TestPublishFailure(t *testing.T) {
	rec := &recorder{}
	tr, err := New(Config{Tick: -1, Rules: []Rule{{Name: "any", When: "conflict in 1 of the last 1 windows"}}}, failing{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(t.Context(), craft(t, "c", spec{score: 0.5, against: []string{"text"}})); err != nil {
		t.Fatalf("Write = %v, want nil with a failing publisher", err)
	}
	tr.Close(t.Context())
	if tr.Failed() != 2 || len(rec.alerts()) != 1 || len(rec.summaries()) != 1 {
		t.Fatalf("Failed() = %d, the other publisher got %d alerts and %d summaries; want 2, 1, 1", tr.Failed(), len(rec.alerts()), len(rec.summaries()))
	}
}
