package live

import (
	"sync"
	"time"
)

// StreamClock maps each stream's event time (an offset from the stream's
// start) to wall-clock time. Sources record when their stream started; the
// scorer uses it to stamp windows and to measure end-to-end latency. Safe
// for concurrent use.
type StreamClock struct {
	mu     sync.Mutex
	starts map[string]time.Time
	now    func() time.Time
}

// NewStreamClock returns a clock reading wall time from now (time.Now when
// nil).
func NewStreamClock(now func() time.Time) *StreamClock {
	if now == nil {
		now = time.Now
	}
	return &StreamClock{starts: map[string]time.Time{}, now: now}
}

// Now returns the current wall-clock time.
func (c *StreamClock) Now() time.Time { return c.now() }

// Start records that stream id began at t, unless a start is known already.
func (c *StreamClock) Start(id string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.starts[id]; !ok {
		c.starts[id] = t
	}
}

// Wall returns the wall-clock time of offset d in stream id. A stream with
// no recorded start is taken to have started when its first offset was
// seen minus that offset.
func (c *StreamClock) Wall(id string, d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	start, ok := c.starts[id]
	if !ok {
		start = c.now().Add(-d)
		c.starts[id] = start
	}
	return start.Add(d)
}

// Forget drops a stream's start, for streams that ended.
func (c *StreamClock) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.starts, id)
}
