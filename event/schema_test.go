package event_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

func TestSchemaNames(t *testing.T) {
	want := []string{event.AlertSchema, event.CallSummarySchema, event.Schema}
	if got := event.SchemaNames(); !slices.Equal(got, want) {
		t.Fatalf("SchemaNames = %v, want %v", got, want)
	}
	if _, err := event.JSONSchema("cmc.sentiment.v1"); err == nil {
		t.Fatal("JSONSchema(v1) succeeded, want an error")
	}
}

// sampleSummary and sampleAlert are valid records.
func sampleSummary() event.CallSummary {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	trend := -0.4
	return event.CallSummary{Schema: event.CallSummarySchema, SummaryID: event.SummaryID("call-42", start), StreamID: "call-42",
		Start: start, End: start.Add(5 * time.Minute), Reason: event.EndOfCall, Windows: 3,
		Speakers: []event.SpeakerSummary{{Speaker: "customer", Windows: 3, Share: event.LabelShare{Negative: 2.0 / 3, Positive: 1.0 / 3},
			MeanScore: -0.3, TrendPerMinute: &trend, FirstThirdMeanScore: 0.5, LastThirdMeanScore: -0.7,
			MostNegativeEventID: "call-42/utt/2", MostNegativeScore: -0.7, ConflictWindows: 1,
			Disagreements: event.Disagreements{Text: 1}, MostDisagreeingModality: "text"}}}
}

func sampleAlert() event.Alert {
	return event.Alert{Schema: event.AlertSchema, AlertID: event.AlertID("angry", "call-42/utt/2"), Rule: "angry",
		Condition: "label negative for 2 consecutive windows", StreamID: "call-42", Speaker: "customer",
		At: time.Date(2026, 11, 27, 10, 0, 9, 0, time.UTC), EventIDs: []string{"call-42/utt/1", "call-42/utt/2"}, Value: 2}
}

// TestSchemasAcceptValidRecords validates one record of each type, and an
// event with an absent modality, against its JSON Schema file.
func TestSchemasAcceptValidRecords(t *testing.T) {
	e := sample()
	absent := sample()
	absent.Modalities.Vision = event.Modality{RouterWeight: 0.41}
	absent.Derive()
	s, a := sampleSummary(), sampleAlert()
	s.Speakers[0].TrendPerMinute = nil // null with one midpoint
	for _, r := range []any{&e, &absent, sampleSummary(), s, a} {
		if err := schematest.Validate(r); err != nil {
			t.Errorf("%T: %v", r, err)
		}
	}
}

// TestSchemasRejectInvalidRecords checks that the schemas are not vacuous:
// each mutation of a valid record's JSON must fail validation.
func TestSchemasRejectInvalidRecords(t *testing.T) {
	e := sample()
	s, a := sampleSummary(), sampleAlert()
	tests := []struct {
		name   string
		record any
		mutate func(m map[string]any)
	}{
		{"v1 schema name", &e, func(m map[string]any) { m["schema"] = "cmc.sentiment.v1" }},
		{"v1 similarity field", &e, func(m map[string]any) {
			c := m["consensus"].(map[string]any)
			c["similarity"] = c["embedding_similarity"]
			delete(c, "embedding_similarity")
		}},
		{"no score", &e, func(m map[string]any) { delete(m, "score") }},
		{"score range", &e, func(m map[string]any) { m["score"] = 1.5 }},
		{"agreement range", &e, func(m map[string]any) { m["consensus"].(map[string]any)["agreement"] = -0.1 }},
		{"no conflict", &e, func(m map[string]any) { delete(m["consensus"].(map[string]any), "conflict") }},
		{"present without agrees", &e, func(m map[string]any) {
			delete(m["modalities"].(map[string]any)["text"].(map[string]any), "agrees")
		}},
		{"absent with score", &e, func(m map[string]any) {
			m["modalities"].(map[string]any)["text"].(map[string]any)["present"] = false
		}},
		{"label", &e, func(m map[string]any) { m["label"] = "angry" }},
		{"date", &e, func(m map[string]any) { m["window"].(map[string]any)["start"] = "yesterday" }},
		{"unknown field", &e, func(m map[string]any) { m["mood"] = "good" }},
		{"summary reason", s, func(m map[string]any) { m["reason"] = "hung up" }},
		{"summary no speakers", s, func(m map[string]any) { m["speakers"] = []any{} }},
		{"summary modality", s, func(m map[string]any) {
			m["speakers"].([]any)[0].(map[string]any)["most_disagreeing_modality"] = "smell"
		}},
		{"summary trend missing", s, func(m map[string]any) {
			delete(m["speakers"].([]any)[0].(map[string]any), "trend_per_minute")
		}},
		{"alert no events", a, func(m map[string]any) { m["event_ids"] = []any{} }},
		{"alert no rule", a, func(m map[string]any) { delete(m, "rule") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.record)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if err := schematest.Validate(m); err != nil {
				t.Fatalf("valid record rejected before the mutation: %v", err)
			}
			tt.mutate(m)
			if err := schematest.Validate(m); err == nil {
				t.Fatal("Validate accepted the mutated record")
			}
		})
	}
}
