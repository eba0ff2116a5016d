package app

import (
	"fmt"
	"testing"
	"time"
)

// TestStreamClockForgetsUnusedStreams checks that the clock keeps a stream's
// start while it is used, and forgets the streams unused for the retention
// period: 1,000 ended calls leave nothing behind.
func TestStreamClockForgetsUnusedStreams(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := NewStreamClock(func() time.Time { return now }, 2*time.Minute)
	started := now
	c.Start("live", started)
	for i := range 1000 {
		c.Start(fmt.Sprintf("call-%d", i), now)
	}
	if n := len(c.streams); n != 1001 {
		t.Fatalf("%d streams, want 1001", n)
	}
	// The live stream is used every 30 s; the calls never again.
	for range 8 {
		now = now.Add(30 * time.Second)
		if got, want := c.Origin("live", time.Second), started; !got.Equal(want) {
			t.Fatalf("Origin(live, 1s) = %v, want %v (the recorded start)", got, want)
		}
	}
	if n := len(c.streams); n != 1 {
		t.Fatalf("%d streams after 4 minutes, want 1 (the live one)", n)
	}
	// A forgotten stream that comes back is anchored afresh.
	if got, want := c.Origin("call-7", 5*time.Second).Add(5*time.Second), now; !got.Equal(want) {
		t.Fatalf("Origin+5s of a forgotten stream = %v, want now (%v)", got, want)
	}
}

// TestStreamClockBoundsStreams floods the clock with new stream ids within
// its retention (as rejected items with ever-new ids would): it holds at
// most its bound, forgetting the least recently used, and keeps the stream
// that is used.
func TestStreamClockBoundsStreams(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := NewStreamClock(func() time.Time { return now }, 2*time.Minute)
	c.max = 100
	started := now
	c.Start("live", started)
	for i := range 1000 {
		now = now.Add(time.Millisecond)
		c.Start(fmt.Sprintf("flood-%d", i), now)
		if got := c.Origin("live", 0); !got.Equal(started) {
			t.Fatalf("after %d ids: Origin(live) = %v, want its start %v", i+1, got, started)
		}
	}
	if n := len(c.streams); n != 100 {
		t.Fatalf("%d streams after 1,001 ids, want the bound of 100", n)
	}
}
