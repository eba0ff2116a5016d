package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// sample returns a valid event modelled on the example in
// docs/architecture.md, with the agreement computed from its similarity.
func sample() event.Event {
	start := time.Date(2026, 11, 27, 10, 0, 3, 200e6, time.UTC)
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	all := [3]bool{true, true, true}
	return event.Event{
		Schema:   event.Schema,
		EventID:  "call-42/utt/17",
		StreamID: "call-42",
		Speaker:  "customer",
		Window:   event.Window{Kind: event.Utterance, Seq: 17, Start: start, End: start.Add(3650 * time.Millisecond)},
		Label:    event.Negative,
		Probs:    event.Probs{Negative: 0.71, Neutral: 0.18, Positive: 0.11},
		Modalities: event.Modalities{
			Text:   event.Modality{Present: true, Label: event.Positive, Probs: &event.Probs{Negative: 0.2, Neutral: 0.3, Positive: 0.5}, RouterWeight: 0.21},
			Audio:  event.Modality{Present: true, Label: event.Negative, Probs: &event.Probs{Negative: 0.6, Neutral: 0.3, Positive: 0.1}, RouterWeight: 0.38},
			Vision: event.Modality{Present: true, Label: event.Negative, Probs: &event.Probs{Negative: 0.8, Neutral: 0.1, Positive: 0.1}, RouterWeight: 0.41},
		},
		Consensus:  event.Consensus{Agreement: event.Agreement(sim, all), Similarity: sim},
		Transcript: "sure, that's just great",
		Model:      event.Model{Name: "cmc-sims", Version: "1.0.0", SHA256: "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"},
		LatencyMS:  event.Latency{Features: 12.1, Model: 3.4, EndToEnd: 41},
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	e := sample()
	if err := e.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", got, e)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate after round trip: %v", err)
	}
}

// TestEventJSONFieldNames pins the wire names of cmc.sentiment.v1 to the
// example in docs/architecture.md.
func TestEventJSONFieldNames(t *testing.T) {
	e := sample()
	e.Modalities.Vision = event.Modality{RouterWeight: 0.41}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"schema", "event_id", "stream_id", "speaker", "window", "label", "probs", "modalities", "consensus", "transcript", "model", "latency_ms"}
	if len(m) != len(want) {
		t.Errorf("got %d top-level fields, want %d: %v", len(m), len(want), m)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("missing field %q", k)
		}
	}
	check := func(obj any, keys ...string) {
		t.Helper()
		o, ok := obj.(map[string]any)
		if !ok {
			t.Fatalf("%v is not an object", obj)
		}
		if len(o) != len(keys) {
			t.Errorf("got fields %v, want %v", o, keys)
		}
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				t.Errorf("missing field %q in %v", k, o)
			}
		}
	}
	check(m["window"], "kind", "seq", "start", "end")
	check(m["probs"], "negative", "neutral", "positive")
	mods := m["modalities"].(map[string]any)
	check(mods, "text", "audio", "vision")
	check(mods["text"], "present", "label", "probs", "router_weight")
	check(mods["vision"], "present", "router_weight")
	check(m["consensus"], "agreement", "similarity")
	check(m["model"], "name", "version", "sha256")
	check(m["latency_ms"], "features", "model", "end_to_end")
	if got := m["window"].(map[string]any)["start"]; got != "2026-11-27T10:00:03.2Z" {
		t.Errorf("window.start = %v, want RFC 3339", got)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *event.Event)
	}{
		{"schema", func(e *event.Event) { e.Schema = "cmc.sentiment.v0" }},
		{"empty stream", func(e *event.Event) { e.StreamID, e.EventID = "", "/utt/17" }},
		{"event id", func(e *event.Event) { e.EventID = "call-42/win/17" }},
		{"window kind", func(e *event.Event) { e.Window.Kind = "tumbling" }},
		{"window order", func(e *event.Event) { e.Window.End = e.Window.Start.Add(-time.Nanosecond) }},
		{"zero start", func(e *event.Event) { e.Window.Start = time.Time{} }},
		{"label", func(e *event.Event) { e.Label = "angry" }},
		{"label not argmax", func(e *event.Event) { e.Label = event.Positive }},
		{"probs sum", func(e *event.Event) { e.Probs.Negative = 0.9 }},
		{"probs NaN", func(e *event.Event) { e.Probs.Negative = math.NaN() }},
		{"probs negative", func(e *event.Event) { e.Probs = event.Probs{Negative: 1.1, Neutral: -0.1} }},
		{"router sum", func(e *event.Event) { e.Modalities.Text.RouterWeight = 0.5 }},
		{"router range", func(e *event.Event) {
			e.Modalities.Text.RouterWeight, e.Modalities.Audio.RouterWeight = -0.1, 0.69
		}},
		{"present without probs", func(e *event.Event) { e.Modalities.Audio.Probs = nil }},
		{"absent with label", func(e *event.Event) { e.Modalities.Audio.Present = false }},
		{"modality label", func(e *event.Event) { e.Modalities.Text.Label = event.Negative }},
		{"asymmetric", func(e *event.Event) { e.Consensus.Similarity[0][1] = 0.5 }},
		{"diagonal", func(e *event.Event) { e.Consensus.Similarity[1][1] = 0.5 }},
		{"similarity range", func(e *event.Event) {
			e.Consensus.Similarity[0][2], e.Consensus.Similarity[2][0] = 1.5, 1.5
		}},
		{"agreement", func(e *event.Event) { e.Consensus.Agreement = 0.9 }},
		{"model name", func(e *event.Event) { e.Model.Name = "" }},
		{"sha256", func(e *event.Event) { e.Model.SHA256 = "FFB7" }},
		{"latency", func(e *event.Event) { e.LatencyMS.Model = -1 }},
		{"latency inf", func(e *event.Event) { e.LatencyMS.EndToEnd = math.Inf(1) }},
		{"utf8", func(e *event.Event) { e.Transcript = "\xff" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sample()
			tt.mutate(&e)
			err := e.Validate()
			if !errors.Is(err, event.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestValidateAbsentModality(t *testing.T) {
	e := sample()
	e.Modalities.Vision = event.Modality{RouterWeight: 0.41}
	e.Consensus.Similarity[2] = [3]float64{0, 0, 0}
	e.Consensus.Similarity[0][2], e.Consensus.Similarity[1][2] = 0, 0
	e.Consensus.Agreement = event.Agreement(e.Consensus.Similarity, e.Modalities.Present())
	if e.Consensus.Agreement != 0.12 {
		t.Fatalf("agreement = %v, want 0.12 (text-audio only)", e.Consensus.Agreement)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAgreement(t *testing.T) {
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	opposed := [3][3]float64{{1, -0.9, -0.8}, {-0.9, 1, -0.7}, {-0.8, -0.7, 1}}
	tests := []struct {
		name    string
		sim     [3][3]float64
		present [3]bool
		want    float64
	}{
		{"all three", sim, [3]bool{true, true, true}, (0.12 + 0.08 + 0.91) / 3},
		{"audio and vision", sim, [3]bool{false, true, true}, 0.91},
		{"one modality", sim, [3]bool{true, false, false}, 1},
		{"none", sim, [3]bool{}, 1},
		{"opposed clamps to 0", opposed, [3]bool{true, true, true}, 0},
		{"identical", [3][3]float64{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}}, [3]bool{true, true, true}, 1},
	}
	for _, tt := range tests {
		if got := event.Agreement(tt.sim, tt.present); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("%s: Agreement = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		stream string
		kind   event.WindowKind
		seq    uint64
		want   string
	}{
		{"call-42", event.Utterance, 17, "call-42/utt/17"},
		{"cam", event.Sliding, 0, "cam/win/0"},
		{"cam", "tumbling", 1, ""},
	}
	for _, tt := range tests {
		if got := event.ID(tt.stream, tt.kind, tt.seq); got != tt.want {
			t.Errorf("ID(%q, %q, %d) = %q, want %q", tt.stream, tt.kind, tt.seq, got, tt.want)
		}
	}
}

func TestSoftmaxArgmax(t *testing.T) {
	p := event.Softmax([3]float64{1000, 999, -1000})
	if err := p.Validate(); err != nil {
		t.Fatalf("Softmax of large logits: %v", err)
	}
	// e^0 / (e^0 + e^-1): the exact softmax of (0, -1, -inf).
	if want := 1 / (1 + math.Exp(-1)); math.Abs(p.Negative-want) > 1e-15 {
		t.Errorf("Negative = %v, want %v", p.Negative, want)
	}
	if got := p.Argmax(); got != event.Negative {
		t.Errorf("Argmax = %v", got)
	}
	if got := (event.Probs{Negative: 0.4, Neutral: 0.4, Positive: 0.2}).Argmax(); got != event.Negative {
		t.Errorf("tie Argmax = %v, want the earlier class", got)
	}
	if got := (event.Probs{Neutral: 0.2, Positive: 0.8}).Argmax(); got != event.Positive {
		t.Errorf("Argmax = %v, want positive", got)
	}
}

func ExampleAgreement() {
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	fmt.Printf("%.2f\n", event.Agreement(sim, [3]bool{true, true, true}))
	fmt.Printf("%.2f\n", event.Agreement(sim, [3]bool{false, true, true}))
	// Output:
	// 0.37
	// 0.91
}

func ExampleID() {
	fmt.Println(event.ID("call-42", event.Utterance, 17))
	// Output: call-42/utt/17
}
