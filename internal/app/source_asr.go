package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/asr"
	"github.com/cmc-stream/cmc-stream/features/vad"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TranscriptSourceASR is the transcript_source of events whose transcript
// cmc-stream recognised itself.
const TranscriptSourceASR = "asr"

// asrMicBuffer is the ring buffer, in seconds, of a microphone whose
// speech is recognised (7.7 MB of float32 samples at 16 kHz): its reader
// stops while a segment is recognised (seconds for asr.max_segment of
// speech, more on a loaded machine), and the ring holds the audio
// captured meanwhile.
const asrMicBuffer = 120

// asrSet is the speech recognition of an App: a tap on every recognised
// audio source, and the Kafka writer recognised segments also go to.
type asrSet struct {
	cfg     *ASRConfig
	assets  string // the assets folder (assets.dir), holding the VAD model
	clock   *StreamClock
	log     *slog.Logger
	writer  *kafkago.Writer // nil without asr.kafka
	taps    []*asrTap
	streams map[string]bool
}

// newASRSet returns the speech recognition of cfg (nil when cfg is nil),
// with the VAD model below assets; ONNX Runtime must have been
// initialised.
func newASRSet(cfg *ASRConfig, assets string, clock *StreamClock, log *slog.Logger) *asrSet {
	if cfg == nil {
		return nil
	}
	s := &asrSet{cfg: cfg, assets: assets, clock: clock, log: log, streams: map[string]bool{}}
	if k := cfg.Kafka; k != nil {
		s.writer = &kafkago.Writer{Addr: kafkago.TCP(k.Brokers...), Topic: k.Topic, Balancer: &kafkago.Murmur2Balancer{Consistent: true},
			RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond, WriteTimeout: 5 * time.Second, AllowAutoTopicCreation: true}
	}
	return s
}

// tap loads the voice-activity model and the recogniser of stream and
// returns src wrapped so that its speech is also recognised; src itself
// when the stream is not recognised.
func (s *asrSet) tap(stream string, src pipeline.Source[align.Input]) (pipeline.Source[align.Input], error) {
	if s == nil || !s.cfg.recognises(stream) {
		return src, nil
	}
	det, err := vad.Open(filepath.Join(s.assets, vad.ModelFile))
	if err != nil {
		return nil, fmt.Errorf("app: asr of stream %q: %w", stream, err)
	}
	ep, err := vad.NewEndpointer(det, s.cfg.endpointing())
	if err != nil {
		_ = det.Close()
		return nil, fmt.Errorf("app: asr of stream %q: %w", stream, err)
	}
	rec, err := asr.New(asr.Config{Lang: s.cfg.Lang, ModelDir: s.cfg.ModelDir})
	if err != nil {
		_ = det.Close()
		return nil, fmt.Errorf("app: asr of stream %q: %w", stream, err)
	}
	if mi, ok := src.(*micInput); ok {
		mi.cfg.BufferFrames = asrMicBuffer * asr.SampleRate
	}
	t := &asrTap{set: s, src: src, stream: stream, det: det, ep: ep, rec: rec}
	s.taps = append(s.taps, t)
	s.streams[stream] = true
	return t, nil
}

// close releases the models of a pipeline that failed to build.
func (s *asrSet) close() {
	if s == nil {
		return
	}
	for _, t := range s.taps {
		t.release()
	}
}

// mark sets the transcript_source of an event whose transcript was
// recognised.
func (s *asrSet) mark(ev *event.Event) {
	if s != nil && ev.Transcript != "" && s.streams[ev.StreamID] {
		ev.TranscriptSource = TranscriptSourceASR
	}
}

// produce writes a recognised segment to the Kafka topic, when one is
// configured, as a transcript message with wall-clock times keyed by its
// stream. A failed write is logged: the topic is a copy for other
// consumers, the pipeline goes on.
func (s *asrSet) produce(ctx context.Context, seg align.Segment) {
	if s.writer == nil {
		return
	}
	origin := s.clock.Origin(seg.StreamID, seg.Start)
	msg := event.Segment{StreamID: seg.StreamID, Start: event.WallTime(origin.Add(seg.Start)),
		End: event.WallTime(origin.Add(seg.End)), Text: seg.Text, Final: true, Lang: seg.Lang}
	b, err := json.Marshal(msg)
	if err == nil {
		err = s.writer.WriteMessages(ctx, kafkago.Message{Key: []byte(seg.StreamID), Value: b})
	}
	if err != nil {
		s.log.Warn("asr: producing a transcript segment", "stream", seg.StreamID, "topic", s.cfg.Kafka.Topic, "err", err)
	}
}

// queued is an item a tap read or made, waiting to be returned.
type queued struct {
	in  align.Input
	ack pipeline.AckFunc
}

// asrTap passes an audio source's items through and recognises its
// speech: the audio goes through the endpointer, and each speech segment
// that ends is recognised, in the source's goroutine, and returned as a
// final transcript segment before the audio chunk that ended it. So the
// segment enters the aligner before the audio after it, and a source read
// faster than real time (a file) waits for the recogniser instead of
// running ahead of it.
type asrTap struct {
	set    *asrSet
	src    pipeline.Source[align.Input]
	stream string
	det    *vad.Detector
	ep     *vad.Endpointer
	rec    *asr.Recognizer
	queue  []queued
	ended  bool // the source ended; the queue holds the last items
	closed bool // the models were released
}

func (t *asrTap) Connect(ctx context.Context) error { return t.src.Connect(ctx) }

func (t *asrTap) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	for len(t.queue) == 0 {
		if t.ended {
			return nil, nil, pipeline.ErrEndOfInput
		}
		in, ack, err := t.src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfInput) {
			t.ended = true
			t.recognise(ctx, t.ep.Flush())
			t.det.Reset()
			continue
		}
		if err != nil {
			return in, ack, err
		}
		if m, ok := in.(align.Media); ok && m.Modality == align.Audio {
			t.endpoint(ctx, m)
		}
		t.queue = append(t.queue, queued{in, ack})
	}
	q := t.queue[0]
	t.queue = t.queue[1:]
	return q.in, q.ack, nil
}

// endpoint feeds an audio chunk to the endpointer and recognises the
// segments it ends; a chunk at another rate than 16 kHz is logged and
// skipped.
func (t *asrTap) endpoint(ctx context.Context, m align.Media) {
	if m.SampleRate != vad.SampleRate {
		t.set.log.Warn("asr: audio chunk not at 16 kHz skipped", "stream", t.stream, "sample_rate", m.SampleRate)
		return
	}
	speech, err := t.ep.Write(m.Time, m.Samples)
	if err != nil {
		t.set.log.Warn("asr: voice activity", "stream", t.stream, "err", err)
	}
	t.recognise(ctx, speech)
}

// recognise turns speech segments into final transcript segments on the
// queue; a segment with no recognised word is left out.
func (t *asrTap) recognise(ctx context.Context, speech []vad.Speech) {
	for _, s := range speech {
		res, err := t.rec.Recognize(asr.ToPCM16(s.Samples))
		if err != nil {
			t.set.log.Warn("asr: recognition", "stream", t.stream, "err", err)
			continue
		}
		if res.Text == "" {
			continue
		}
		seg := align.Segment{StreamID: t.stream, Start: s.Start, End: s.End, Text: res.Text, Final: true, Lang: t.set.cfg.lang()}
		t.set.produce(ctx, seg)
		t.queue = append(t.queue, queued{in: seg})
	}
}

// release frees the models, once.
func (t *asrTap) release() {
	if t.closed {
		return
	}
	t.closed = true
	_ = t.det.Close()
	_ = t.rec.Close()
}

func (t *asrTap) Close(ctx context.Context) error {
	t.release()
	err := t.src.Close(ctx)
	if t.set.writer != nil {
		err = errors.Join(err, t.set.writer.Close())
	}
	return err
}

// lang returns the configured language, "en" by default.
func (c *ASRConfig) lang() string {
	if c.Lang == "" {
		return "en"
	}
	return c.Lang
}
