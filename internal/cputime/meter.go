package cputime

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Stage is a part of the pipeline whose CPU time a Meter adds up.
type Stage int

// The stages a Meter splits.
const (
	// Decode is reading and decoding video frames (the capture goroutines).
	Decode Stage = iota
	// Vision is the vision features of the frames (face detection and
	// expression).
	Vision
	// Text is encoding a window's transcript.
	Text
	// Audio is a window's audio features.
	Audio
	// Model is the forward pass and building the event.
	Model
	// Sinks is writing the events.
	Sinks
	// Stages is the number of stages.
	Stages
)

var names = [Stages]string{"decode", "vision", "text", "audio", "model", "sinks"}

// String returns the stage's name, as in bench pipeline's output.
func (s Stage) String() string {
	if s < 0 || s >= Stages {
		return "stage(?)"
	}
	return names[s]
}

// Meter adds up the CPU time of each stage. The nil *Meter measures
// nothing (its spans do not lock the goroutine), so code can be metered
// unconditionally. Safe for concurrent use.
type Meter struct{ ns [Stages]atomic.Int64 }

// Split is the CPU time per stage.
type Split [Stages]time.Duration

// Sum returns the total of the stages.
func (s Split) Sum() time.Duration {
	var t time.Duration
	for _, d := range s {
		t += d
	}
	return t
}

// Split returns the CPU time added up so far, per stage.
func (m *Meter) Split() Split {
	var s Split
	if m == nil {
		return s
	}
	for i := range s {
		s[i] = time.Duration(m.ns[i].Load())
	}
	return s
}

// Add adds d to stage s.
func (m *Meter) Add(s Stage, d time.Duration) {
	if m != nil && d > 0 {
		m.ns[s].Add(int64(d))
	}
}

// Span measures the CPU time of the calling goroutine between its laps.
// It must be ended by the goroutine that began it.
type Span struct {
	m    *Meter
	last time.Duration
}

// Begin locks the calling goroutine to its OS thread (until End) and
// starts measuring its CPU time. On the nil Meter, or where the thread's
// clock cannot be read, it does nothing and so do the span's methods.
func (m *Meter) Begin() Span {
	if m == nil {
		return Span{}
	}
	runtime.LockOSThread()
	t, ok := Thread()
	if !ok {
		runtime.UnlockOSThread()
		return Span{}
	}
	return Span{m: m, last: t}
}

// Lap adds the thread's CPU time since Begin or the previous Lap to stage s.
func (sp *Span) Lap(s Stage) {
	if sp.m == nil {
		return
	}
	if t, ok := Thread(); ok {
		sp.m.Add(s, t-sp.last)
		sp.last = t
	}
}

// End unlocks the goroutine from its thread (one level: a goroutine locked
// before Begin stays locked).
func (sp *Span) End() {
	if sp.m != nil {
		runtime.UnlockOSThread()
		sp.m = nil
	}
}
