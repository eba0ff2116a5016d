package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/bert/berttest"
	"github.com/cmc-stream/cmc-stream/features/recipe"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/model"
)

// TestTextEncoderConfig: text.encoder is validated strictly, each error
// naming its field.
func TestTextEncoderConfig(t *testing.T) {
	base := "model: {bundle: b}\nsources: {transcripts: {file: x.jsonl}}\nsinks: {stdout: {}}\n"
	for _, c := range []struct{ text, field string }{
		{"text: {encoder: gpt}", "text.encoder"},
		{"text: {encoder: bert}", "text.model"},
		{"text: {encoder: lexicon, model: m.onnx}", "text.model"},
		{"text: {output: h}", "text.output"},
	} {
		_, err := DecodeConfig([]byte(base + c.text + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want an error naming %s", c.text, err, c.field)
		}
	}
	for _, ok := range []string{"text: {encoder: lexicon}", "text: {encoder: bert, model: m.onnx, output: h}"} {
		if _, err := DecodeConfig([]byte(base + ok + "\n")); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// englishUtterances are textOnlyRun's default transcript.
var englishUtterances = []string{"what a great day", "this is awful"}

// textOnlyRun runs a text-only pipeline over utterances (one second each)
// with the text section textYAML and returns its events, or Build's error.
func textOnlyRun(t *testing.T, bundle, textYAML string, utterances []string) ([]event.Event, error) {
	t.Helper()
	tr := filepath.Join(t.TempDir(), "t.jsonl")
	var lines []byte
	for i, u := range utterances {
		seg, err := json.Marshal(map[string]any{"stream_id": "s", "speaker": "customer", "start": i, "end": i + 1, "text": u, "final": true})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, seg...), '\n')
	}
	if err := os.WriteFile(tr, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig([]byte("model: {bundle: " + bundle + "}\ntext: " + textYAML + "\nsources: {transcripts: {file: " + tr +
		"}}\nwindow: {policy: utterance}\nsinks: {stdout: {format: jsonl}}\nobservability: {listen: disabled}\n" + testAssetsYAML))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	app, err := Build(cfg, Options{Stdout: &out, Logger: testLogger(t.Output())})
	if err != nil {
		return nil, err
	}
	if err := app.Run(t.Context()); err != nil {
		t.Fatalf("run: %v", err)
	}
	var evs []event.Event
	for sc := bufio.NewScanner(&out); sc.Scan(); {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Schema == event.Schema {
			evs = append(evs, e)
		}
	}
	return evs, nil
}

// TestBERTTextEncoderEndToEnd selects text.encoder: bert with a BERT ONNX
// export (a tiny one with BERT's interface, 8 hidden columns, through real
// ONNX Runtime) and runs transcripts through it into events; a bundle
// whose recorded feature spec names another BERT model is refused.
func TestBERTTextEncoderEndToEnd(t *testing.T) {
	v, err := text.BuiltinVocab("en")
	if err != nil {
		t.Fatal(err)
	}
	const hidden = 8
	onnxPath := berttest.WriteTiny(t, v.Size(), hidden)
	bundle := saveBundle(t, model.PerModality{Text: hidden, Audio: 34, Vision: 14}, 3)
	evs, err := textOnlyRun(t, bundle, "{encoder: bert, model: "+onnxPath+"}", englishUtterances)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	for i, e := range evs {
		if !e.Modalities.Text.Present || e.Transcript != englishUtterances[i] {
			t.Errorf("event %d: text present %v, transcript %q", i, e.Modalities.Text.Present, e.Transcript)
		}
	}
	// The lexicon encoder gives 64 columns: the 8-column bundle refuses it,
	// so the events above came from the BERT encoder.
	if _, err := textOnlyRun(t, bundle, "{encoder: lexicon}", englishUtterances); err == nil || !strings.Contains(err.Error(), "dims.text 8") {
		t.Errorf("lexicon encoder with an 8-column bundle: %v, want a dims.text error", err)
	}

	// A bundle trained on another BERT model's features.
	other := recipe.TextSpec{Name: "bert", Version: "1", Lang: "en", MaxLen: 24, Dim: hidden, Lexicons: "none", LowerCase: true, Model: "sha256:0000"}
	spec, err := json.Marshal(recipe.Default(other))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{Name: "other-bert", Convention: "mosi", Layers: 1, Heads: 4, Features: spec,
		Dims: model.PerModality{Text: hidden, Audio: 34, Vision: 14}, Lengths: model.PerModality{Text: 24, Audio: 80, Vision: 30}})
	if err != nil {
		t.Fatal(err)
	}
	m.Weights.Randomize(1)
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := textOnlyRun(t, dir, "{encoder: bert, model: "+onnxPath+"}", englishUtterances); err == nil || !strings.Contains(err.Error(), "sha256:0000") {
		t.Errorf("bundle trained on another BERT: %v, want the spec mismatch naming the model", err)
	}
}

// TestChineseTextEndToEnd runs Chinese transcripts (CH-SIMS style, no
// spaces) through text.lang: zh, whose lexicon encoder reads the Chinese
// AFINN translation that make setup fetched (TestChineseLexicon in
// features/recipe checks its values), into one event per utterance.
func TestChineseTextEndToEnd(t *testing.T) {
	bundle := saveBundle(t, model.PerModality{Audio: 34, Vision: 14}, 5)
	zh := []string{"我很喜欢这部电影", "这家餐厅的服务太糟糕了"}
	evs, err := textOnlyRun(t, bundle, "{lang: zh}", zh)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(zh) {
		t.Fatalf("%d events, want %d", len(evs), len(zh))
	}
	for i, e := range evs {
		if !e.Modalities.Text.Present || e.Transcript != zh[i] {
			t.Errorf("event %d: text present %v, transcript %q, want %q", i, e.Modalities.Text.Present, e.Transcript, zh[i])
		}
	}
}
