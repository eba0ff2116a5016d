package app

import (
	"sync"
	"time"
)

// StreamClock holds each stream's wall-clock origin (the wall-clock time of
// its event time 0), so that the sources of one stream (camera, microphone,
// transcript feed) agree on its event time. Sources record when their
// stream started and stamp every input with the origin (align.Media.Origin,
// align.Segment.Origin); the aligner hands it on in each window
// (align.Window.Origin), from which the scorer stamps events and measures
// end-to-end latency, so a time is converted between wall clock and stream
// offset once, at its source. A stream unused for the retention period is
// forgotten, and at most MaxClockStreams are held (the least recently used
// goes first), so a process that sees ever-new stream ids (call ids, or a
// flood of rejected items) keeps a bounded map. Safe for concurrent use.
type StreamClock struct {
	mu      sync.Mutex
	streams map[string]*clockStream
	now     func() time.Time
	retain  time.Duration
	swept   time.Time // when unused streams were last forgotten
	max     int       // MaxClockStreams; smaller in tests
}

// MaxClockStreams bounds the streams a StreamClock holds: 100,000, far
// above the streams one process scores at once.
const MaxClockStreams = 100_000

// clockStream is a stream's start and when the clock last used it.
type clockStream struct {
	start, used time.Time
}

// NewStreamClock returns a clock reading wall time from now (time.Now when
// nil) that forgets streams unused for retain. retain must outlast a
// stream's idle time before the aligner removes it plus the scoring of its
// last windows; the pipeline uses twice the aligner's idle timeout.
func NewStreamClock(now func() time.Time, retain time.Duration) *StreamClock {
	if now == nil {
		now = time.Now
	}
	return &StreamClock{streams: map[string]*clockStream{}, now: now, retain: retain, swept: now(), max: MaxClockStreams}
}

// Now returns the current wall-clock time.
func (c *StreamClock) Now() time.Time { return c.now() }

// Start records that stream id began at t, unless a start is known already.
func (c *StreamClock) Start(id string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stream(id, t)
}

// Origin returns the wall-clock origin of stream id, seen now at offset d.
// A stream with no recorded start is taken to have started when its first
// offset was seen minus that offset.
func (c *StreamClock) Origin(id string, d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream(id, c.now().Add(-d)).start
}

// stream returns stream id, recorded as started at start if it is new, and
// marks it used. Every half retention period it first forgets the streams
// unused for longer than the retention, which amortises the sweep to
// constant time per call.
func (c *StreamClock) stream(id string, start time.Time) *clockStream {
	now := c.now()
	if now.Sub(c.swept) >= c.retain/2 {
		for k, s := range c.streams {
			if now.Sub(s.used) > c.retain {
				delete(c.streams, k)
			}
		}
		c.swept = now
	}
	s, ok := c.streams[id]
	if !ok {
		if len(c.streams) >= c.max {
			c.forgetOldest()
		}
		s = &clockStream{start: start}
		c.streams[id] = s
	}
	s.used = now
	return s
}

// forgetOldest forgets the least recently used stream; the caller holds mu.
func (c *StreamClock) forgetOldest() {
	var oldest string
	var at time.Time
	for k, s := range c.streams {
		if oldest == "" || s.used.Before(at) {
			oldest, at = k, s.used
		}
	}
	delete(c.streams, oldest)
}
