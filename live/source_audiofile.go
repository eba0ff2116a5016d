package live

import (
	"context"
	"fmt"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// audioChunk is the length of the chunks an audio file is replayed in
// (the PortAudio source's default chunk, 100 ms).
const audioChunk = 100 * time.Millisecond

// audioFileInput replays a WAV file as audio items of 100 ms, in real time
// when realtime is set (each chunk is released when the wall clock since
// the start reaches the chunk's end), or as fast as the pipeline takes
// them.
type audioFileInput struct {
	stream, path string
	rate         int
	realtime     bool
	clock        *StreamClock
	samples      []float32
	fileRate     int
	pos          int
	started      time.Time
}

func newAudioFileInput(stream, path string, rate int, realtime bool, clock *StreamClock) *audioFileInput {
	return &audioFileInput{stream: stream, path: path, rate: rate, realtime: realtime, clock: clock}
}

func (a *audioFileInput) Connect(context.Context) error {
	if a.samples != nil {
		return nil
	}
	y, rate, err := audio.ReadWAV(a.path)
	if err != nil {
		return fmt.Errorf("live: audio source %q: %w", a.stream, err)
	}
	if rate != a.rate {
		if y, err = audio.Resample(nil, y, rate, a.rate); err != nil {
			return fmt.Errorf("live: audio source %q: %w", a.stream, err)
		}
	}
	a.samples, a.fileRate = y, a.rate
	a.started = a.clock.Now()
	a.clock.Start(a.stream, a.started)
	return nil
}

func (a *audioFileInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	if a.pos >= len(a.samples) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	n := min(len(a.samples)-a.pos, int(float64(a.fileRate)*audioChunk.Seconds()))
	start := time.Duration(int64(a.pos) * int64(time.Second) / int64(a.fileRate))
	end := time.Duration(int64(a.pos+n) * int64(time.Second) / int64(a.fileRate))
	if a.realtime {
		if wait := a.started.Add(end).Sub(a.clock.Now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, ctx.Err()
			case <-t.C:
			}
		}
	}
	chunk := a.samples[a.pos : a.pos+n]
	a.pos += n
	return align.Media{StreamID: a.stream, Modality: align.Audio, Time: start, Samples: chunk, SampleRate: a.fileRate}, nil, nil
}

func (a *audioFileInput) Close(context.Context) error { return nil }
