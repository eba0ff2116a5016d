package audio

import (
	"context"
	"io"
	"math"
	"sync/atomic"
)

// ring is a bounded single-producer, single-consumer sample buffer whose
// producer never waits: when the consumer falls behind, new samples
// overwrite the oldest. It works like a seqlock: the producer announces the
// positions it is about to overwrite (reserved) before writing them and
// publishes them (written) after; the consumer copies, then checks that the
// producer did not reserve any of the copied positions meanwhile, and skips
// and counts whatever was overwritten. Samples are stored as atomic words so
// the concurrent accesses are well defined.
type ring struct {
	buf      []atomic.Uint32 // float32 bits; len is a multiple of channels
	channels uint64
	// reserved and written count samples since the start; only the
	// producer stores them. written <= reserved.
	reserved, written atomic.Uint64
	notify            chan struct{} // capacity 1; a non-blocking send wakes the reader
	closed            chan struct{} // closed by close
	dropped           atomic.Int64  // frames
	read              uint64        // next sample to read; consumer only
}

// newRing returns a ring of frames frames of channels samples.
func newRing(frames, channels int) *ring {
	return &ring{
		buf:      make([]atomic.Uint32, frames*channels),
		channels: uint64(channels),
		notify:   make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
}

// write appends samples (whole frames) without blocking: it takes no lock,
// allocates nothing and overwrites the oldest samples when the ring is full.
// Only one goroutine may call it at a time (the audio callback).
func (r *ring) write(samples []float32) {
	n := uint64(len(r.buf))
	w := r.written.Load()
	end := w + uint64(len(samples))
	r.reserved.Store(end)
	skip := max(0, len(samples)-len(r.buf)) // these would be overwritten at once
	for i, v := range samples[skip:] {
		r.buf[(w+uint64(skip+i))%n].Store(math.Float32bits(v))
	}
	r.written.Store(end)
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// close makes readChunk return io.EOF once the samples left are fewer than
// a chunk. Only the owner of the stream calls it, once.
func (r *ring) close() { close(r.closed) }

// readChunk waits until frames frames are available and returns them with
// the index of their first frame. Frames overwritten before they were read
// are skipped and counted. It returns ctx.Err() when ctx is done first and
// io.EOF after close.
func (r *ring) readChunk(ctx context.Context, frames int) (int64, []float32, error) {
	n := uint64(len(r.buf))
	want := uint64(frames) * r.channels
	out := make([]float32, want)
	for {
		if w := r.written.Load(); w-r.read >= want {
			r.skipOverwritten(w)
			if w-r.read >= want {
				start := r.read
				for i := range out {
					out[i] = math.Float32frombits(r.buf[(start+uint64(i))%n].Load())
				}
				// Positions the producer reserved up to now may have
				// replaced what we copied: retry from the oldest valid.
				if !r.skipOverwritten(r.reserved.Load()) {
					r.read = start + want
					return int64(start / r.channels), out, nil
				}
			}
			continue
		}
		select {
		case <-r.notify:
		case <-r.closed:
			if r.written.Load()-r.read < want {
				return 0, nil, io.EOF
			}
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// skipOverwritten moves the read position past the samples that the
// producer has overwritten or may be overwriting when it has reserved up
// to position limit, counts them as dropped, and reports whether it moved.
func (r *ring) skipOverwritten(limit uint64) bool {
	n := uint64(len(r.buf))
	if limit <= n || r.read >= limit-n {
		return false
	}
	oldest := limit - n
	r.dropped.Add(int64((oldest - r.read) / r.channels))
	r.read = oldest
	return true
}
