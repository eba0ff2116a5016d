package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/media"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// audioFileInput replays a WAV file, or the audio track of a video file, as
// audio items, in real time when realtime is set. With channel roles, the
// file's two channels are decoded and each channel with a role becomes
// the audio of its speaker (splitChannels); a channel without one, or
// whose role privacy.roles excludes, is dropped here, right after decoding.
type audioFileInput struct {
	stream   string
	cfg      media.Config
	channels ChannelRoles
	clock    *StreamClock
	src      *media.Source
	origin   time.Time     // the stream's wall-clock origin
	ended    bool          // the file failed to decode: the input is over
	pending  []align.Input // the other channels of the last chunk read
}

func newAudioFileInput(a AudioSource, privacy PrivacyConfig, clock *StreamClock) *audioFileInput {
	cfg := media.Config{Path: a.File, SampleRate: a.sampleRate(), Realtime: a.realtime()}
	if a.Channels != nil {
		cfg.Channels = event.MaxChannels
	}
	return &audioFileInput{stream: a.StreamID, clock: clock, cfg: cfg, channels: a.Channels.scored(privacy)}
}

// Connect starts the stream clock and opens the file, played in real time
// from the stream's start, in step with the stream's other sources.
func (a *audioFileInput) Connect(context.Context) error {
	if a.src != nil || a.ended {
		return nil
	}
	a.clock.Start(a.stream, a.clock.Now())
	if a.channels != nil && len(a.channels) == 0 {
		// privacy.roles excludes every channel's role: the file is not
		// even decoded.
		a.ended = true
		return nil
	}
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
	if len(a.pending) > 0 {
		in := a.pending[0]
		a.pending = a.pending[1:]
		return in, nil, nil
	}
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
	m := align.Media{StreamID: a.stream, Modality: align.Audio, Time: c.Start, Origin: a.origin, SampleRate: c.SampleRate}
	if a.channels == nil {
		m.Samples = c.Samples
		return m, nil, nil
	}
	// One item per channel with a scored role: at least one (Connect).
	items := splitChannels(m, event.AudioChunk{StreamID: a.stream, SampleRate: c.SampleRate, Channels: c.Channels, Samples: c.Samples}, a.channels)
	a.pending = items[1:]
	return items[0], nil, nil
}

// Close stops the decoder (and its ffmpeg process).
func (a *audioFileInput) Close(context.Context) error {
	if a.src == nil {
		return nil
	}
	return a.src.Close()
}
