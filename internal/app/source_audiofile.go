package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/ingest/media"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// audioFileInput replays a WAV file, or the audio track of a video file, as
// audio items, in real time when realtime is set.
type audioFileInput struct {
	stream string
	cfg    media.Config
	clock  *StreamClock
	src    *media.Source
	origin time.Time // the stream's wall-clock origin
	ended  bool      // the file failed to decode: the input is over
}

func newAudioFileInput(stream, path string, rate int, realtime bool, clock *StreamClock) *audioFileInput {
	return &audioFileInput{stream: stream, clock: clock, cfg: media.Config{Path: path, SampleRate: rate, Realtime: realtime}}
}

// Connect starts the stream clock and opens the file, played in real time
// from the stream's start, in step with the stream's other sources.
func (a *audioFileInput) Connect(context.Context) error {
	if a.src != nil {
		return nil
	}
	a.clock.Start(a.stream, a.clock.Now())
	cfg := a.cfg
	cfg.Epoch = a.clock.Origin(a.stream, 0)
	src, err := media.Open(cfg)
	if err != nil {
		return fmt.Errorf("app: audio source %q: %w", a.stream, err)
	}
	a.src, a.origin = src, cfg.Epoch
	return nil
}

// Read returns the next chunk, pipeline.ErrEndOfInput after the last. A
// file that fails to decode part-way (a WAV cut short of its declared
// size, say) has its error returned once, for the runner to report, and
// ends there: its earlier chunks were delivered.
func (a *audioFileInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	if a.ended {
		return nil, nil, pipeline.ErrEndOfInput
	}
	c, err := a.src.Read(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	if err != nil {
		if ctx.Err() == nil {
			a.ended = true
			err = fmt.Errorf("app: audio file of stream %q: %w", a.stream, err)
		}
		return nil, nil, err
	}
	return align.Media{StreamID: a.stream, Modality: align.Audio, Time: c.Start, Origin: a.origin, Samples: c.Samples, SampleRate: c.SampleRate}, nil, nil
}

// Close stops the decoder (and its ffmpeg process).
func (a *audioFileInput) Close(context.Context) error {
	if a.src == nil {
		return nil
	}
	return a.src.Close()
}
