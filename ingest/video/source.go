package video

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
)

// Source is a running video capture started by [Open]. Its methods are safe
// for concurrent use. The caller that opened it calls Close exactly once.
type Source struct {
	frames   chan Frame    // the bounded queue; closed by the producer
	live     bool          // drop the oldest frame instead of waiting
	cancel   func()        // stops the producer
	finished chan struct{} // closed by the producer after it released its handles
	err      error         // the producer's terminal error, set before frames is closed

	frameCount, dropped, decodeErrors atomic.Int64
	closeOnce                         sync.Once
}

// newSource returns a Source with a queue of queueFrames frames whose
// producer is stopped by cancel.
func newSource(queueFrames int, live bool, cancel func()) *Source {
	return &Source{
		frames:   make(chan Frame, queueFrames),
		live:     live,
		cancel:   cancel,
		finished: make(chan struct{}),
	}
}

// push queues f. A live source never blocks: when the queue is full it drops
// the oldest queued frame and counts it. Otherwise push waits for room and
// returns false if done is closed first.
func (s *Source) push(f Frame, done <-chan struct{}) bool {
	s.frameCount.Add(1)
	if !s.live {
		select {
		case s.frames <- f:
			return true
		case <-done:
			return false
		}
	}
	for {
		select {
		case s.frames <- f:
			return true
		default:
		}
		select {
		case <-s.frames:
			s.dropped.Add(1)
		default: // a reader took one meanwhile
		}
	}
}

// finish ends the stream with err (nil at the end of a file) and marks the
// producer as gone. Only the producer calls it, once, as its last action.
func (s *Source) finish(err error) {
	s.err = err
	close(s.frames)
	close(s.finished)
}

// Read returns the next frame, waiting until one is queued or ctx is done.
// It returns io.EOF after the last frame of a file (or after Close), an error
// wrapping ErrDeviceLost when a device or URL stopped delivering frames, and
// ctx.Err() when ctx is done first.
func (s *Source) Read(ctx context.Context) (Frame, error) {
	select {
	case f, ok := <-s.frames:
		if ok {
			return f, nil
		}
		if s.err != nil {
			return Frame{}, s.err
		}
		return Frame{}, io.EOF
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	}
}

// Stats returns the counters so far.
func (s *Source) Stats() Stats {
	return Stats{
		Frames:       s.frameCount.Load(),
		Dropped:      s.dropped.Load(),
		DecodeErrors: s.decodeErrors.Load(),
	}
}

// Close stops the capture and waits until its goroutine has released every
// OpenCV handle. A capture blocked inside OpenCV (a stalled URL) is waited
// for until OpenCV returns. Frames still queued can be read after Close,
// followed by io.EOF. Close is idempotent and always returns nil.
func (s *Source) Close() error {
	s.closeOnce.Do(s.cancel)
	<-s.finished
	return nil
}
