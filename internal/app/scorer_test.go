package app

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// testEncoder is the default lexicon encoder without lexicons (hashed
// word pieces only), at 12 tokens.
func testEncoder(t *testing.T) *text.LexiconEncoder {
	t.Helper()
	v, err := text.BuiltinVocab("en")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := text.NewTokenizer(v, text.Options{LowerCase: true, MaxLen: 12})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := text.NewLexiconEncoder(tok, text.LexiconConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func testModel(t *testing.T, textDim int) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Name: "test", Convention: "mosi", Layers: 1, Heads: 4,
		Dims: model.PerModality{Text: textDim, Audio: 33, Vision: 6}, Lengths: model.PerModality{Text: 16, Audio: 120, Vision: 20}})
	if err != nil {
		t.Fatal(err)
	}
	m.Weights.Randomize(3)
	return m
}

func speech16k(t *testing.T) []float32 {
	t.Helper()
	f, err := safetensors.ReadFile("../../testdata/librosa/librosa_shared.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f.Tensors["speech0880_sr16000/y"].Data
}

// TestScorer checks the event of a window against the model run directly on
// the same features: the text encoder's rows, the first lengths.audio
// frames of the audio recipe over the window's samples, and the frames'
// vision vectors.
func TestScorer(t *testing.T) {
	enc := testEncoder(t)
	m := testModel(t, enc.Dim())
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	sc, err := NewScorer(ScorerConfig{Model: m, Text: enc, Now: func() time.Time { return start.Add(4 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	y := speech16k(t)
	w := align.Window{StreamID: "s1", Speaker: "customer", Kind: align.Utterance, Seq: 7,
		Start: 0, End: 3 * time.Second, Origin: start, Text: "he was not an ill disposed young man",
		Present: align.Of(align.Text, align.Audio, align.Vision)}
	// Two audio chunks that the scorer must join.
	w.Audio = []align.Media{
		{StreamID: "s1", Modality: align.Audio, Samples: y[:20000], SampleRate: 16000},
		{StreamID: "s1", Modality: align.Audio, Time: 1250 * time.Millisecond, Samples: y[20000:], SampleRate: 16000},
	}
	for i := range 25 { // more frames than lengths.vision: the first 20 count
		w.Vision = append(w.Vision, align.Media{StreamID: "s1", Modality: align.Vision, Time: time.Duration(i) * 66 * time.Millisecond,
			Features: []float32{1, float32(i) / 25, 0.5, -0.5, 0, float32(i % 3)}})
	}
	evs, err := sc.Process(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	if ev.EventID != "s1/utt/7" || ev.Speaker != "customer" || ev.Transcript != w.Text || !ev.Window.End.Equal(start.Add(3*time.Second)) {
		t.Errorf("event header %+v", ev)
	}
	if ev.LatencyMS.EndToEnd != 1000 {
		t.Errorf("end to end %v ms, want 1000 (clock 4 s after start, window ends at 3 s)", ev.LatencyMS.EndToEnd)
	}

	// The same forward pass by hand.
	tf := make([]float32, enc.MaxLen()*enc.Dim())
	if err := enc.EncodeTo(tf, w.Text); err != nil {
		t.Fatal(err)
	}
	ex, _ := audio.NewExtractor(audio.Config{})
	af, err := ex.Extract(y, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if af.Frames <= 120 {
		t.Fatalf("%d audio frames; the test wants more than lengths.audio", af.Frames)
	}
	var vf []float32
	for _, f := range w.Vision[:20] {
		vf = append(vf, f.Features...)
	}
	var a33 []float32 // the 33 recipe columns of the first 120 frames
	for f := range 120 {
		a33 = append(a33, af.Row(f)[:33]...)
	}
	x := model.Input{
		{Batch: 1, Len: enc.MaxLen(), Dim: enc.Dim(), Data: tf},
		{Batch: 1, Len: 120, Dim: 33, Data: a33},
		{Batch: 1, Len: 20, Dim: 6, Data: vf},
	}
	var out model.Output
	if err := model.NewInferencer(m, model.Options{}).Forward(&x, &out); err != nil {
		t.Fatal(err)
	}
	p := out.Probs(0)
	for i, got := range []float64{ev.Probs.Negative, ev.Probs.Neutral, ev.Probs.Positive} {
		if math.Abs(got-float64(p[i])) > 1e-6 {
			t.Fatalf("probs %+v, want %v", ev.Probs, p)
		}
	}
	for k, mod := range ev.Modalities.All() {
		if !mod.Present || math.Abs(mod.RouterWeight-float64(out.Router[k])) > 1e-6 {
			t.Errorf("modality %d: %+v, router %v", k, mod, out.Router[k])
		}
	}

	// A window with text only marks audio and vision absent.
	only := align.Window{StreamID: "s1", Kind: align.Utterance, Seq: 8, Start: 3 * time.Second, End: 4 * time.Second, Text: "fine", Present: align.Of(align.Text)}
	evs, err = sc.Process(context.Background(), only)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Modalities.Audio.Present || e.Modalities.Vision.Present || !e.Modalities.Text.Present || e.Validate() != nil {
		t.Errorf("text-only event %+v (%v)", e.Modalities, e.Validate())
	}

	// A frame of the wrong width is an error naming the window, not a crash.
	bad := w
	bad.Vision = []align.Media{{StreamID: "s1", Modality: align.Vision, Features: []float32{1, 2}}}
	if _, err := sc.Process(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "s1/7 vision") {
		t.Errorf("bad frame: %v", err)
	}
}

// TestScorerRefusesMismatch checks the construction-time checks.
func TestScorerRefusesMismatch(t *testing.T) {
	enc := testEncoder(t)
	if _, err := NewScorer(ScorerConfig{Model: testModel(t, 768), Text: enc}); err == nil || !strings.Contains(err.Error(), "dims.text 768") {
		t.Errorf("text dim: %v", err)
	}
	wide := testModel(t, enc.Dim())
	wide.Config.Dims.Audio = 40
	if _, err := NewScorer(ScorerConfig{Model: wide, Text: enc}); err == nil || !strings.Contains(err.Error(), "dims.audio 40") {
		t.Errorf("audio dim: %v", err)
	}
	m := testModel(t, enc.Dim())
	trained := features.Spec{}
	trained.Set(features.Audio, map[string]any{"name": "mmsa33", "hop_length": 256})
	raw, _ := json.Marshal(trained)
	m.Config.Features = raw
	configured := features.Spec{}
	configured.Set(features.Audio, map[string]any{"name": "mmsa33", "hop_length": 512})
	if _, err := NewScorer(ScorerConfig{Model: m, Text: enc, Spec: configured}); err == nil || !strings.Contains(err.Error(), "audio.hop_length") {
		t.Errorf("spec mismatch: %v", err)
	}
}

// TestStatsLatencyWindow checks that the latency record keeps only the
// last latencyWindow events: after 10,000 events at 1 ms and 10,000 at
// 5 ms, both percentiles are 5 ms.
func TestStatsLatencyWindow(t *testing.T) {
	var s Stats
	batch := make([]event.Event, 100)
	for _, ms := range []float64{1, 5} {
		for i := range batch {
			batch[i].LatencyMS.EndToEnd = ms
		}
		for range latencyWindow / len(batch) {
			s.Write(context.Background(), batch)
		}
	}
	if p50, p99 := s.percentiles(); p50 != 5 || p99 != 5 || len(s.latencies) != latencyWindow || s.Events.Load() != 2*latencyWindow {
		t.Errorf("p50 %v, p99 %v, %d kept, %d events", p50, p99, len(s.latencies), s.Events.Load())
	}
}
