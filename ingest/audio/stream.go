package audio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Stream is a running PortAudio input stream started by Open. Read must not
// be called concurrently with itself; Stats and Close are safe for
// concurrent use. The caller that opened it calls Close (idempotent) before
// Terminate.
type Stream struct {
	cfg       Config
	device    device // nil until Open started the stream
	ring      *ring
	frames    atomic.Int64
	overflows atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

// device is the part of a PortAudio stream that Close uses.
type device interface {
	Stop() error
	Close() error
}

// newStream returns a Stream for cfg (with defaults resolved) whose device
// is not set yet.
func newStream(cfg Config) *Stream {
	return &Stream{cfg: cfg, ring: newRing(cfg.BufferFrames, cfg.Channels)}
}

// capture takes the samples of one callback into the ring; it never blocks.
func (s *Stream) capture(in []float32) {
	s.ring.write(in)
	s.frames.Add(int64(len(in) / s.cfg.Channels))
}

// Read returns the next ChunkFrames frames, waiting until the device
// captured them or ctx is done (then it returns ctx.Err()). Frames dropped
// because the reader fell behind are skipped: the chunk's Offset and Start
// jump past them. After Close it returns io.EOF once fewer than ChunkFrames
// frames remain.
func (s *Stream) Read(ctx context.Context) (Chunk, error) {
	off, samples, err := s.ring.readChunk(ctx, s.cfg.ChunkFrames)
	if err != nil {
		return Chunk{}, err
	}
	return Chunk{
		Offset:     off,
		Start:      frameTime(off, s.cfg.SampleRate),
		SampleRate: s.cfg.SampleRate,
		Channels:   s.cfg.Channels,
		Samples:    samples,
	}, nil
}

// Stats returns the counters so far.
func (s *Stream) Stats() Stats {
	return Stats{Frames: s.frames.Load(), Dropped: s.ring.dropped.Load(), Overflows: s.overflows.Load()}
}

// Close stops the stream (PortAudio waits for the callback to return),
// releases it and wakes a blocked Read. It is idempotent and returns the
// first error of stopping or closing.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		stopErr := s.device.Stop()
		closeErr := s.device.Close()
		s.ring.close()
		if err := errors.Join(stopErr, closeErr); err != nil {
			s.closeErr = fmt.Errorf("audio: closing stream: %w", err)
		}
	})
	return s.closeErr
}
