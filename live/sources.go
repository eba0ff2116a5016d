package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/audio"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// videoInput is a pipeline source of vision items: it captures frames and
// computes each frame's vision features in its own goroutine, so a slow
// extractor makes the capture queue drop the oldest frames (counted)
// instead of delaying the stream. The extractor is loaded before the
// pipeline starts, so that the capture starts with the other sources. A
// camera or URL that stops delivering frames (unplugged, network gone) is
// closed, counted and reported as pipeline.ErrNotConnected, so the runner
// opens it again after its back-off; meanwhile the stream's windows go on
// without vision once they waited window.max_wait.
type videoInput struct {
	stream string
	cfg    video.Config
	clock  *StreamClock
	ex     *vision.Extractor
	errs   atomic.Int64 // frames whose features failed
	lost   atomic.Int64 // times the capture stopped delivering frames

	mu  sync.Mutex // guards src and past against dropped
	src *video.Source
	// base is the stream time of the current capture's first frame: the
	// capture's frame times start at 0 on every open.
	base   time.Duration
	opened bool  // a capture was opened before
	past   int64 // drops and decode errors of the captures closed after a loss
}

func (v *videoInput) Connect(context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.src != nil {
		return nil
	}
	src, err := video.Open(v.cfg)
	if err != nil {
		return fmt.Errorf("live: video source %q: %w", v.stream, err)
	}
	v.src = src
	v.clock.Start(v.stream, v.clock.Now())
	if v.opened {
		v.base = max(v.clock.Now().Sub(v.clock.Wall(v.stream, 0)), 0)
	}
	v.opened = true
	return nil
}

func (v *videoInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	for {
		f, err := v.src.Read(ctx)
		if errors.Is(err, io.EOF) {
			return nil, nil, pipeline.ErrEndOfInput
		}
		if errors.Is(err, video.ErrDeviceLost) {
			v.lost.Add(1)
			return nil, nil, v.drop(err)
		}
		if err != nil {
			return nil, nil, err
		}
		feat := make([]float32, vision.Dims)
		if err := v.ex.Extract(f.Pix, f.Width, f.Height, feat); err != nil {
			// A frame the extractor cannot read is counted and skipped.
			v.errs.Add(1)
			continue
		}
		return align.Media{StreamID: v.stream, Modality: align.Vision, Time: v.base + f.Time, Features: feat}, nil, nil
	}
}

// drop closes a capture that stopped delivering frames, keeping its
// counters, and returns the error that makes the runner connect again.
func (v *videoInput) drop(cause error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.src.Stats()
	v.past += st.Dropped + st.DecodeErrors
	cerr := v.src.Close()
	v.src = nil
	return errors.Join(fmt.Errorf("%w: live: video source %q: %w", pipeline.ErrNotConnected, v.stream, cause), cerr)
}

func (v *videoInput) Close(context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	if v.src != nil {
		errs = append(errs, v.src.Close())
	}
	return errors.Join(append(errs, v.ex.Close())...)
}

// dropped returns the frames the captures dropped or could not use.
func (v *videoInput) dropped() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.past + v.errs.Load()
	if v.src != nil {
		st := v.src.Stats()
		n += st.Dropped + st.DecodeErrors
	}
	return n
}

// micInput is a pipeline source of audio items from a PortAudio device.
type micInput struct {
	stream string
	cfg    audio.Config
	clock  *StreamClock
	src    *audio.Stream
}

func (m *micInput) Connect(context.Context) error {
	if m.src != nil {
		return nil
	}
	if err := audio.Init(); err != nil {
		return fmt.Errorf("live: audio source %q: %w", m.stream, err)
	}
	src, err := audio.Open(m.cfg)
	if err != nil {
		return fmt.Errorf("live: audio source %q: %w", m.stream, err)
	}
	m.src = src
	m.clock.Start(m.stream, m.clock.Now())
	return nil
}

func (m *micInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	c, err := m.src.Read(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	if err != nil {
		return nil, nil, err
	}
	return align.Media{StreamID: m.stream, Modality: align.Audio, Time: c.Start, Samples: mono(c.Samples, c.Channels), SampleRate: int(c.SampleRate)}, nil, nil
}

func (m *micInput) Close(context.Context) error {
	if m.src == nil {
		return nil
	}
	return m.src.Close()
}

func (m *micInput) dropped() int64 {
	if m.src == nil {
		return 0
	}
	return m.src.Stats().Dropped
}

// mono averages interleaved channels.
func mono(samples []float32, channels int) []float32 {
	if channels <= 1 {
		return samples
	}
	out := make([]float32, len(samples)/channels)
	for i := range out {
		var s float32
		for c := range channels {
			s += samples[i*channels+c]
		}
		out[i] = s / float32(channels)
	}
	return out
}

// maxClockAhead is how far ahead of the wall clock a wall-clock transcript
// segment may start: generous for skewed clocks, far below what a corrupt
// timestamp gives.
const maxClockAhead = time.Hour

// transcriptInput turns a source of transcript segments (a JSONL file or a
// Kafka topic) into aligner segments in stream time, passing the
// acknowledgements through. Wall-clock segment times are measured from the
// stream's start on the StreamClock (the first segment's start when no
// media source started the stream). A segment that starts before its
// stream, or more than maxClockAhead ahead of the clock, goes to reject, is acknowledged, and the read goes on.
type transcriptInput struct {
	src    pipeline.Source[event.Segment]
	clock  *StreamClock
	reject func(ctx context.Context, seg align.Segment, reason error) error
	// wall, when set, records the streams whose segments carry wall-clock
	// times.
	wall *sync.Map
}

func (t *transcriptInput) Connect(ctx context.Context) error { return t.src.Connect(ctx) }

func (t *transcriptInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	for {
		seg, ack, err := t.src.Read(ctx)
		if err != nil {
			return nil, ack, err
		}
		out := align.Segment{StreamID: seg.StreamID, Speaker: seg.Speaker, Start: seg.Start.Offset(), End: seg.End.Offset(),
			Text: seg.Text, Final: seg.Final, Lang: seg.Lang}
		if !seg.Start.IsWall() {
			return out, ack, nil
		}
		if t.wall != nil {
			t.wall.Store(seg.StreamID, struct{}{})
		}
		var reason error
		if now := t.clock.Now(); seg.Start.Wall().After(now.Add(maxClockAhead)) {
			// Taken as the stream's start, it would make every later
			// segment of the stream start before it.
			reason = fmt.Errorf("live: transcript segment of stream %q starts at %v, more than %v ahead of the clock (%v)",
				seg.StreamID, seg.Start.Wall().Format(time.RFC3339Nano), maxClockAhead, now.Format(time.RFC3339Nano))
		} else {
			t.clock.Start(seg.StreamID, seg.Start.Wall())
			base := t.clock.Wall(seg.StreamID, 0)
			out.Start, out.End = seg.Start.Wall().Sub(base), seg.End.Wall().Sub(base)
			if out.Start >= 0 {
				return out, ack, nil
			}
			reason = fmt.Errorf("live: transcript segment of stream %q starts at %v, before the stream's start %v",
				seg.StreamID, seg.Start.Wall().Format(time.RFC3339Nano), base.Format(time.RFC3339Nano))
		}
		if err := t.reject(ctx, out, reason); err != nil {
			// Not acknowledged: a Kafka segment is delivered again.
			return nil, nil, errors.Join(reason, err)
		}
		if ack != nil {
			if err := ack(ctx, reason); err != nil {
				return nil, nil, errors.Join(reason, err)
			}
		}
	}
}

func (t *transcriptInput) Close(ctx context.Context) error { return t.src.Close(ctx) }
