package align

import (
	"fmt"
	"strings"
	"time"
)

// Modality is one of the three input modalities.
type Modality uint8

// The modalities.
const (
	// Text is the transcript.
	Text Modality = iota
	// Audio is sound, as chunks of samples.
	Audio
	// Vision is video, as frames.
	Vision
	numModalities
)

var modalityNames = [numModalities]string{"text", "audio", "vision"}

// String returns "text", "audio" or "vision".
func (m Modality) String() string {
	if m < numModalities {
		return modalityNames[m]
	}
	return fmt.Sprintf("Modality(%d)", uint8(m))
}

// ParseModality returns the Modality named s ("text", "audio" or "vision").
func ParseModality(s string) (Modality, error) {
	for i, name := range modalityNames {
		if s == name {
			return Modality(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown modality %q", ErrInvalid, s)
}

// Modalities is a set of modalities. The zero value is the empty set.
type Modalities uint8

// Of returns the set holding ms.
func Of(ms ...Modality) Modalities {
	var s Modalities
	for _, m := range ms {
		s = s.With(m)
	}
	return s
}

// Has reports whether m is in s.
func (s Modalities) Has(m Modality) bool { return s&(1<<m) != 0 }

// With returns s with m added.
func (s Modalities) With(m Modality) Modalities { return s | 1<<m }

// String lists the modalities of s joined by "+", such as "text+audio", or
// "none".
func (s Modalities) String() string {
	var names []string
	for m := range numModalities {
		if s.Has(m) {
			names = append(names, m.String())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// MaxEventTime is the largest event time an input may carry: 10,000 hours,
// far beyond any stream, and small enough that sums of times never
// overflow.
const MaxEventTime = 10000 * time.Hour

// Input is an item for Aligner.Add: a Media, a Segment or an End, or a
// pointer to one.
type Input interface {
	// stream returns the input's stream id; it also seals the interface.
	stream() string
}

// Media is one audio chunk or one video frame of a stream. The Aligner keeps
// the slices it is given and hands them, or sub-slices of them, out in
// windows: a caller must not modify them after Add, and window consumers
// must treat them as read-only.
type Media struct {
	// StreamID identifies the stream (a webcam session, a call id).
	StreamID string
	// Modality is Audio or Vision.
	Modality Modality
	// Time is the event time from the stream's start: an audio chunk's
	// first sample, or a frame's presentation timestamp.
	Time time.Duration
	// Origin is the wall-clock time of the stream's event time 0, when the
	// source knows it; the windows of the stream carry it (Window.Origin).
	// Optional.
	Origin time.Time
	// Samples holds an audio chunk's mono samples; audio only.
	Samples []float32
	// SampleRate is an audio chunk's sample rate in Hz; audio only.
	SampleRate int
	// Interval is, for a frame of a constant-rate source, the time to the
	// next frame (1/fps). Once a frame at t arrived, no other frame falls
	// before t+Interval, so a window ending by then closes without waiting
	// for the next frame: at 15 fps that saves up to 67 ms of latency. A
	// frame that arrives earlier than announced (a camera's jitter), after
	// its window closed, is counted late like any item that misses its
	// window. Zero: a window waits for a frame at or after its end. Vision
	// only, optional.
	Interval time.Duration
	// Features is a frame's feature vector, if the source computed one;
	// vision only, optional.
	Features []float32
	// Payload is an opaque value carried into the window untouched, such as
	// a reference to a decoded frame; optional.
	Payload any
	// Ref is an opaque value identifying the input to its caller, such as
	// a pipeline.Hold; optional. See Aligner.Released.
	Ref any
}

func (m Media) stream() string { return m.StreamID }

// End returns the event time just after the item: Time plus the duration of
// an audio chunk's samples (rounded down to the nanosecond), or Time for a
// frame.
func (m Media) End() time.Duration {
	if m.Modality != Audio || m.SampleRate <= 0 {
		return m.Time
	}
	return m.Time + time.Duration(int64(len(m.Samples))*int64(time.Second)/int64(m.SampleRate))
}

// validate checks m, wrapping ErrInvalid.
func (m Media) validate() error {
	switch {
	case m.StreamID == "":
		return fmt.Errorf("%w: media item without stream id", ErrInvalid)
	case m.Modality != Audio && m.Modality != Vision:
		return fmt.Errorf("%w: media item of modality %v", ErrInvalid, m.Modality)
	case m.Time < 0 || m.Time > MaxEventTime:
		return fmt.Errorf("%w: media item at time %v, outside [0, MaxEventTime]", ErrInvalid, m.Time)
	case m.Modality == Audio && m.SampleRate <= 0:
		return fmt.Errorf("%w: audio chunk with sample rate %d", ErrInvalid, m.SampleRate)
	case m.Modality == Audio && len(m.Samples) == 0:
		return fmt.Errorf("%w: audio chunk without samples", ErrInvalid)
	case m.Interval < 0 || m.Interval > MaxEventTime:
		return fmt.Errorf("%w: frame interval %v, outside [0, MaxEventTime]", ErrInvalid, m.Interval)
	}
	return nil
}

// Segment is one transcript segment of a stream, as a speech recogniser or a
// transcript feed delivers it.
type Segment struct {
	// StreamID identifies the stream.
	StreamID string
	// Speaker names who speaks, if known.
	Speaker string
	// Start and End bound the segment in event time from the stream's
	// start.
	Start, End time.Duration
	// Origin is the wall-clock time of the stream's event time 0, when the
	// source knows it; the windows of the stream carry it (Window.Origin).
	// Required when WallClock is set, optional otherwise.
	Origin time.Time
	// WallClock is set when the source gave the segment's times as
	// wall-clock times, which the caller converted to offsets from Origin:
	// the StartMillis numbering then counts from the Unix epoch, so the
	// number does not depend on when this process saw the stream start.
	WallClock bool
	// Text is what was said.
	Text string
	// Final is false for an interim hypothesis that a later segment will
	// replace.
	Final bool
	// Lang is the language tag, such as "en" or "zh", if known.
	Lang string
	// Ref is an opaque value identifying the input to its caller, such as
	// a pipeline.Hold; optional. See Aligner.Released.
	Ref any
}

func (s Segment) stream() string { return s.StreamID }

// validate checks s, wrapping ErrInvalid.
func (s Segment) validate() error {
	switch {
	case s.StreamID == "":
		return fmt.Errorf("%w: segment without stream id", ErrInvalid)
	case s.Start < 0 || s.End > MaxEventTime:
		return fmt.Errorf("%w: segment [%v, %v) outside [0, MaxEventTime]", ErrInvalid, s.Start, s.End)
	case s.End < s.Start:
		return fmt.Errorf("%w: segment ends at %v before it starts at %v", ErrInvalid, s.End, s.Start)
	case s.WallClock && s.Origin.Before(time.Unix(0, 0)):
		return fmt.Errorf("%w: wall-clock segment with origin %v, before the Unix epoch", ErrInvalid, s.Origin)
	}
	return nil
}

// End marks the end of a stream, such as a call hung up or a WebSocket
// connection closed: Aligner.Add of an End does what Aligner.End does for
// its stream, in order with the stream's other inputs.
type End struct {
	// StreamID identifies the stream that ended.
	StreamID string
	// Ref is an opaque value identifying the input to its caller, such as
	// a pipeline.Hold; optional. Aligner.Released returns it as soon as
	// Add returned.
	Ref any
}

func (e End) stream() string { return e.StreamID }

// WithRef returns a copy of in, a Media, a Segment or an End (or a pointer
// to one), with its Ref set to ref. It returns any other input unchanged.
func WithRef(in Input, ref any) Input {
	switch v := in.(type) {
	case Media:
		v.Ref = ref
		return v
	case *Media:
		if v != nil {
			return WithRef(*v, ref)
		}
	case Segment:
		v.Ref = ref
		return v
	case *Segment:
		if v != nil {
			return WithRef(*v, ref)
		}
	case End:
		v.Ref = ref
		return v
	case *End:
		if v != nil {
			return WithRef(*v, ref)
		}
	}
	return in
}
