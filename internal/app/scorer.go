package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/model"
)

// TextEncoder turns a transcript into MaxLen rows of Dim per-token
// features, zero rows for padding. Implementations must be safe for
// concurrent use (text.LexiconEncoder is).
type TextEncoder interface {
	EncodeTo(dst []float32, text string) error
	Dim() int
	MaxLen() int
}

// ScorerConfig configures a Scorer.
type ScorerConfig struct {
	// Model is the CMC model; required.
	Model *model.Model
	// Text encodes transcripts; required.
	Text TextEncoder
	// Audio configures the audio extractor run on each window's samples;
	// the zero value is the CH-SIMS 33-d recipe.
	Audio audio.Config
	// Spec describes the configured extractors (text, audio, vision). When
	// the bundle records a feature spec, NewScorer refuses a mismatch.
	Spec features.Spec
	// Now reads the wall clock that end-to-end latencies are measured on
	// (from the window's end, Window.Origin plus End). Nil means time.Now.
	Now func() time.Time
	// Threads is the number of goroutines of one forward pass. Default 1.
	Threads int
	// PartyIDs gives the windows of a party's audio channel (aligner
	// streams made by channelStream) event.PartyID ids, for calls of which
	// more than one party is scored: their windows may start in the same
	// millisecond. Unset, they get event.ID ids, like every other window.
	PartyIDs bool
	// CPU, when set, receives each window's CPU time split into
	// cputime.Text, Audio and Model (bench pipeline's cost split).
	CPU *cputime.Meter
}

// Scorer is the pipeline stage that turns an aligned window into a
// sentiment event: it extracts the window's text and audio features (the
// vision features arrive per frame, computed by the video source), pads
// them to the model's lengths, runs the model and builds the event. Safe
// for concurrent use: each call takes its own scratch buffers from a pool.
type Scorer struct {
	cfg  ScorerConfig
	pool sync.Pool
}

// scratch holds one worker's extractor, inferencer and buffers.
type scratch struct {
	audio *audio.Extractor
	run   *model.Inferencer
	out   model.Output
	text  []float32
	snd   []float32
	rows  [model.Experts][]float32
}

// NewScorer checks that the extractors fit the model (dims, lengths and,
// when the bundle records one, the feature spec) and returns the stage.
func NewScorer(cfg ScorerConfig) (*Scorer, error) {
	if cfg.Model == nil || cfg.Text == nil {
		return nil, errors.New("app: scorer needs a model and a text encoder")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	mc := &cfg.Model.Config
	if d := cfg.Text.Dim(); d != mc.Dims.Text {
		return nil, fmt.Errorf("app: text encoder gives %d features per token, the model wants dims.text %d", d, mc.Dims.Text)
	}
	if l := cfg.Text.MaxLen(); l > mc.Lengths.Text {
		return nil, fmt.Errorf("app: text encoder gives %d tokens, more than the model's lengths.text %d", l, mc.Lengths.Text)
	}
	ex, err := audio.NewExtractor(cfg.Audio)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if d := ex.Spec().Dims(); d < mc.Dims.Audio {
		return nil, fmt.Errorf("app: audio extractor gives %d columns, the model wants dims.audio %d", d, mc.Dims.Audio)
	}
	if len(mc.Features) > 0 {
		var trained features.Spec
		if err := json.Unmarshal(mc.Features, &trained); err != nil {
			return nil, fmt.Errorf("app: bundle feature spec: %w", err)
		}
		if err := trained.Check(cfg.Spec); err != nil {
			return nil, fmt.Errorf("app: model %q does not fit the configured extractors: %w", mc.Name, err)
		}
	}
	s := &Scorer{cfg: cfg}
	s.pool.New = func() any {
		ex, _ := audio.NewExtractor(cfg.Audio) // the same config succeeded above
		return &scratch{audio: ex, run: model.NewInferencer(cfg.Model, model.Options{Threads: cfg.Threads})}
	}
	return s, nil
}

// Process scores one window. The window of a party's audio channel (its
// stream made by channelStream) becomes an event of the call's stream with
// the party as its speaker.
func (s *Scorer) Process(_ context.Context, w align.Window) ([]event.Event, error) {
	party := false
	if stream, role, ok := splitChannel(w.StreamID); ok {
		w.StreamID, w.Speaker, party = stream, role, true
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	m := s.cfg.Model
	mc := &m.Config
	began := time.Now()
	sp := s.cfg.CPU.Begin()
	defer sp.End()

	var x model.Input
	var present [model.Experts]bool

	// Text: the encoder's rows, zero-padded by the model to lengths.text.
	tl, td := s.cfg.Text.MaxLen(), s.cfg.Text.Dim()
	sc.text = grow(sc.text, tl*td)
	clear(sc.text)
	if w.Present.Has(align.Text) {
		if err := s.cfg.Text.EncodeTo(sc.text, w.Text); err != nil {
			return nil, fmt.Errorf("app: window %s/%d text: %w", w.StreamID, w.Seq, err)
		}
		present[model.Text] = true
	}
	x[model.Text] = model.Sequence{Batch: 1, Len: tl, Dim: td, Data: sc.text}
	sp.Lap(cputime.Text)

	// Audio: the recipe over the window's samples; the first lengths.audio
	// frames (datasets truncate clips at the end the same way) and the first
	// dims.audio columns (the 33 CH-SIMS columns come first, extras after).
	x[model.Audio] = model.Sequence{Batch: 1, Len: 0, Dim: mc.Dims.Audio}
	if w.Present.Has(align.Audio) {
		sc.snd = sc.snd[:0]
		rate := w.Audio[0].SampleRate
		for _, chunk := range w.Audio {
			if chunk.SampleRate != rate {
				return nil, fmt.Errorf("app: window %s/%d audio: chunks at %d and %d Hz", w.StreamID, w.Seq, rate, chunk.SampleRate)
			}
			sc.snd = append(sc.snd, chunk.Samples...)
		}
		f, err := sc.audio.Extract(sc.snd, rate)
		if err != nil {
			return nil, fmt.Errorf("app: window %s/%d audio: %w", w.StreamID, w.Seq, err)
		}
		n, cols, ad := min(f.Frames, mc.Lengths.Audio), len(f.Columns), mc.Dims.Audio
		data := f.Data[:n*cols]
		if cols != ad {
			sc.rows[model.Audio] = sc.rows[model.Audio][:0]
			for t := range n {
				sc.rows[model.Audio] = append(sc.rows[model.Audio], f.Data[t*cols:t*cols+ad]...)
			}
			data = sc.rows[model.Audio]
		}
		x[model.Audio] = model.Sequence{Batch: 1, Len: n, Dim: ad, Data: data}
		present[model.Audio] = n > 0
	}

	// Vision: the per-frame feature vectors the video source computed.
	vd := mc.Dims.Vision
	sc.rows[model.Vision] = sc.rows[model.Vision][:0]
	n := 0
	for _, f := range w.Vision {
		if n == mc.Lengths.Vision {
			break
		}
		if len(f.Features) != vd {
			return nil, fmt.Errorf("app: window %s/%d vision: frame at %v has %d features, the model wants dims.vision %d", w.StreamID, w.Seq, f.Time, len(f.Features), vd)
		}
		sc.rows[model.Vision] = append(sc.rows[model.Vision], f.Features...)
		n++
	}
	x[model.Vision] = model.Sequence{Batch: 1, Len: n, Dim: vd, Data: sc.rows[model.Vision]}
	present[model.Vision] = n > 0

	sp.Lap(cputime.Audio) // with the vision rows' copy
	featuresDone := time.Now()
	if err := sc.run.Forward(&x, &sc.out); err != nil {
		return nil, fmt.Errorf("app: window %s/%d: %w", w.StreamID, w.Seq, err)
	}
	modelDone := time.Now()

	ev := s.event(&w, &sc.out, present)
	if party && s.cfg.PartyIDs {
		ev.EventID = event.PartyID(ev.StreamID, ev.Speaker, ev.Window.Kind, w.Seq)
	}
	ev.LatencyMS = event.Latency{
		Features: ms(featuresDone.Sub(began)),
		Model:    ms(modelDone.Sub(featuresDone)),
		EndToEnd: ms(max(s.cfg.Now().Sub(w.Origin.Add(w.End)), 0)),
	}
	sp.Lap(cputime.Model)
	return []event.Event{ev}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// event builds the event of sample 0 of out for window w.
func (s *Scorer) event(w *align.Window, out *model.Output, present [model.Experts]bool) event.Event {
	m := s.cfg.Model
	kind := event.Utterance
	if w.Kind == align.Sliding {
		kind = event.Sliding
	}
	probs := func(p [model.Classes]float32) event.Probs {
		return event.Probs{Negative: float64(p[0]), Neutral: float64(p[1]), Positive: float64(p[2])}
	}
	fused := probs(out.Probs(0))
	ev := event.Event{
		Schema:   event.Schema,
		EventID:  event.ID(w.StreamID, kind, w.Seq),
		StreamID: w.StreamID,
		Speaker:  w.Speaker,
		Window: event.Window{Kind: kind, Seq: w.Seq,
			Start: w.Origin.Add(w.Start).UTC(), End: w.Origin.Add(w.End).UTC()},
		Label:      fused.Argmax(),
		Probs:      fused,
		Transcript: w.Text,
		Model:      event.Model{Name: m.Config.Name, Version: m.Config.Version, SHA256: m.SHA256},
	}
	mods := [model.Experts]*event.Modality{&ev.Modalities.Text, &ev.Modalities.Audio, &ev.Modalities.Vision}
	for k, mod := range mods {
		mod.Present = present[k]
		mod.RouterWeight = float64(out.Router[k])
		if present[k] {
			p := probs(out.ExpertProbs(0, model.Modality(k)))
			mod.Probs, mod.Label = &p, p.Argmax()
		}
	}
	for i := range model.Experts {
		for j := range model.Experts {
			v := float64(out.Similarity[i*model.Experts+j])
			ev.Consensus.EmbeddingSimilarity[i][j] = math.Max(-1, math.Min(1, v))
		}
	}
	ev.Derive() // score, agrees, agreement and conflict
	return ev
}
