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
// docs/architecture.md, its derived fields set by Derive.
func sample() event.Event {
	start := time.Date(2026, 11, 27, 10, 0, 3, 200e6, time.UTC)
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	e := event.Event{
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
		Consensus:  event.Consensus{EmbeddingSimilarity: sim},
		Transcript: "sure, that's just great",
		Model:      event.Model{Name: "cmc-sims", Version: "1.0.0", SHA256: "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"},
		LatencyMS:  event.Latency{Features: 12.1, Model: 3.4, EndToEnd: 41},
	}
	e.Derive()
	return e
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

// TestEventJSONFieldNames pins the wire names of cmc.sentiment.v2 to the
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
	want := []string{"schema", "event_id", "stream_id", "speaker", "window", "label", "probs", "score", "modalities", "consensus", "transcript", "model", "latency_ms"}
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
	check(mods["text"], "present", "label", "probs", "score", "agrees", "router_weight")
	check(mods["vision"], "present", "router_weight")
	check(m["consensus"], "agreement", "conflict", "embedding_similarity")
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
		{"party id of another speaker", func(e *event.Event) { e.EventID = "call-42/utt/17/agent" }},
		{"party id without speaker", func(e *event.Event) { e.EventID, e.Speaker = "call-42/utt/17/", "" }},
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
		{"asymmetric", func(e *event.Event) { e.Consensus.EmbeddingSimilarity[0][1] = 0.5 }},
		{"diagonal", func(e *event.Event) { e.Consensus.EmbeddingSimilarity[1][1] = 0.5 }},
		{"similarity range", func(e *event.Event) {
			e.Consensus.EmbeddingSimilarity[0][2], e.Consensus.EmbeddingSimilarity[2][0] = 1.5, 1.5
		}},
		{"agreement", func(e *event.Event) { e.Consensus.Agreement = 0.9 }},
		{"conflict", func(e *event.Event) { e.Consensus.Conflict = false }},
		{"score", func(e *event.Event) { e.Score = 0.6 }},
		{"modality score", func(e *event.Event) { *e.Modalities.Audio.Score = 0 }},
		{"modality score missing", func(e *event.Event) { e.Modalities.Audio.Score = nil }},
		{"agrees", func(e *event.Event) { *e.Modalities.Text.Agrees = true }},
		{"absent with score", func(e *event.Event) {
			e.Modalities.Vision.Present, e.Modalities.Vision.Label, e.Modalities.Vision.Probs = false, "", nil
		}},
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
	e.Consensus.EmbeddingSimilarity[2] = [3]float64{0, 0, 0}
	e.Consensus.EmbeddingSimilarity[0][2], e.Consensus.EmbeddingSimilarity[1][2] = 0, 0
	e.Derive()
	// Text (0.2, 0.3, 0.5) and audio (0.6, 0.3, 0.1) only: the reference
	// divergence of that pair.
	want := 1 - refJSD([3]float64{0.2, 0.3, 0.5}, [3]float64{0.6, 0.3, 0.1})
	if math.Abs(e.Consensus.Agreement-want) > 1e-12 {
		t.Fatalf("agreement = %v, want %v (text-audio only)", e.Consensus.Agreement, want)
	}
	if !e.Consensus.Conflict || e.Modalities.Vision.Score != nil || e.Modalities.Vision.Agrees != nil {
		t.Fatalf("consensus %+v, vision %+v", e.Consensus, e.Modalities.Vision)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
}

// refJSD is the reference Jensen-Shannon divergence in bits, written as the
// entropy of the mixture minus the mean entropy, H(m) - (H(p) + H(q)) / 2,
// which is a different formula from the KL form event.Agreement uses.
func refJSD(p, q [3]float64) float64 {
	h := func(x [3]float64) float64 {
		var s float64
		for _, v := range x {
			if v > 0 {
				s -= v * math.Log(v) / math.Ln2
			}
		}
		return s
	}
	var m [3]float64
	for k := range m {
		m[k] = (p[k] + q[k]) / 2
	}
	return h(m) - (h(p)+h(q))/2
}

func probs(p [3]float64) event.Probs {
	return event.Probs{Negative: p[0], Neutral: p[1], Positive: p[2]}
}

func TestAgreement(t *testing.T) {
	a, b, c := [3]float64{0.2, 0.3, 0.5}, [3]float64{0.6, 0.3, 0.1}, [3]float64{0.8, 0.1, 0.1}
	tests := []struct {
		name    string
		experts [][3]float64
		want    float64
	}{
		// Analytic cases.
		{"identical", [][3]float64{{0.98, 0.01, 0.01}, {0.98, 0.01, 0.01}, {0.98, 0.01, 0.01}}, 1},
		{"identical one-hot", [][3]float64{{0, 0, 1}, {0, 0, 1}}, 1},
		{"disjoint one-hot pair", [][3]float64{{1, 0, 0}, {0, 0, 1}}, 0},
		{"disjoint one-hot triple", [][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, 0},
		// One-hot against uniform over two classes: m = (3/4, 1/4, 0),
		// JSD = H(m) - (0 + 1)/2 = 0.811278... - 0.5.
		{"half overlap", [][3]float64{{1, 0, 0}, {0.5, 0.5, 0}}, 1 - (-(0.75*math.Log2(0.75) + 0.25*math.Log2(0.25)) - 0.5)},
		{"one expert", [][3]float64{{0.2, 0.3, 0.5}}, 1},
		{"none", nil, 1},
		// The float64 reference.
		{"three experts", [][3]float64{a, b, c}, 1 - (refJSD(a, b)+refJSD(a, c)+refJSD(b, c))/3},
	}
	for _, tt := range tests {
		var ps []event.Probs
		for _, p := range tt.experts {
			ps = append(ps, probs(p))
		}
		if got := event.Agreement(ps...); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: Agreement = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAgreementIssueExample is the case issue #14 reported: three experts
// saying positive with about 0.98 had agreement 0 in v1.
func TestAgreementIssueExample(t *testing.T) {
	e := sample()
	pos := []event.Probs{{Negative: 0.01, Neutral: 0.01, Positive: 0.98}, {Negative: 0.005, Neutral: 0.015, Positive: 0.98}, {Negative: 0.01, Neutral: 0.02, Positive: 0.97}}
	e.Probs, e.Label = pos[0], event.Positive
	for i, m := range []*event.Modality{&e.Modalities.Text, &e.Modalities.Audio, &e.Modalities.Vision} {
		m.Probs, m.Label = &pos[i], event.Positive
	}
	e.Consensus.EmbeddingSimilarity = [3][3]float64{{1, -0.2, 0}, {-0.2, 1, -0.1}, {0, -0.1, 1}}
	e.Derive()
	if e.Consensus.Agreement < 0.99 || e.Consensus.Conflict || !*e.Modalities.Vision.Agrees {
		t.Fatalf("consensus %+v: want agreement near 1 and no conflict", e.Consensus)
	}
	if math.Abs(e.Score-0.97) > 1e-12 || math.Abs(*e.Modalities.Vision.Score-0.96) > 1e-12 {
		t.Fatalf("score %v, vision score %v: want 0.97 and 0.96", e.Score, *e.Modalities.Vision.Score)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
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

func TestPartyID(t *testing.T) {
	if got, want := event.PartyID("call-42", "customer", event.Utterance, 17), "call-42/utt/17/customer"; got != want {
		t.Errorf("PartyID = %q, want %q", got, want)
	}
	if got := event.PartyID("call-42", "agent", "tumbling", 1); got != "" {
		t.Errorf("PartyID of an unknown kind = %q", got)
	}
	e := sample()
	e.EventID = "call-42/utt/17/customer"
	if err := e.Validate(); err != nil {
		t.Errorf("Validate of the customer's party id: %v", err)
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
	text := event.Probs{Negative: 0.1, Neutral: 0.1, Positive: 0.8}
	audio := event.Probs{Negative: 0.1, Neutral: 0.1, Positive: 0.8}
	vision := event.Probs{Negative: 0.8, Neutral: 0.1, Positive: 0.1}
	fmt.Printf("%.2f\n", event.Agreement(text, audio))
	fmt.Printf("%.2f\n", event.Agreement(text, audio, vision))
	// Output:
	// 1.00
	// 0.70
}

func ExampleID() {
	fmt.Println(event.ID("call-42", event.Utterance, 17))
	// Output: call-42/utt/17
}
