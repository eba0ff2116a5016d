package vad

import (
	"errors"
	"fmt"
	"time"
)

// ProbSource gives the speech probability of consecutive ChunkSize-sample
// chunks of one stream; a *Detector is one.
type ProbSource interface {
	Prob(chunk []float32) (float32, error)
}

// Defaults of EndpointConfig, applied to zero fields.
const (
	// DefaultThreshold is the default EndpointConfig.Threshold (Silero's
	// own default).
	DefaultThreshold = 0.5
	// DefaultMinSilence is the default EndpointConfig.MinSilence.
	DefaultMinSilence = 300 * time.Millisecond
	// DefaultMaxSegment is the default EndpointConfig.MaxSegment.
	DefaultMaxSegment = 15 * time.Second
	// DefaultMinSpeech is the default EndpointConfig.MinSpeech.
	DefaultMinSpeech = 250 * time.Millisecond
	// DefaultPadding is the default EndpointConfig.Padding.
	DefaultPadding = 100 * time.Millisecond
)

// hysteresis is how far below Threshold a chunk's probability must fall to
// count as silence once speech started (Silero's own rule: 0.15).
const hysteresis = 0.15

// chunkDur is the length of one ChunkSize chunk: 32 ms.
const chunkDur = time.Duration(ChunkSize) * time.Second / SampleRate

// EndpointConfig configures an Endpointer. Zero fields take the defaults.
type EndpointConfig struct {
	// Threshold is the speech probability at or above which a chunk starts
	// speech, in (0, 1); a chunk ends it when its probability falls below
	// Threshold-0.15. Default 0.5.
	Threshold float32
	// MinSilence is how long the speech probability must stay low to end a
	// segment. Default 300 ms: the demo showcase's 600 ms pauses between
	// utterances need less than 400 ms (measured with Silero VAD v5).
	MinSilence time.Duration
	// MaxSegment is the longest segment: longer speech is cut into
	// segments of this length. Default 15 s.
	MaxSegment time.Duration
	// MinSpeech is the shortest speech kept: shorter bursts (a cough, a
	// click) make no segment. Default 250 ms.
	MinSpeech time.Duration
	// Padding is the audio kept before the speech starts and after it
	// ends, at most MinSilence/2. Default 100 ms.
	Padding time.Duration
}

// withDefaults returns c with its zero fields set to the defaults.
func (c EndpointConfig) withDefaults() EndpointConfig {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.MinSilence == 0 {
		c.MinSilence = DefaultMinSilence
	}
	if c.MaxSegment == 0 {
		c.MaxSegment = DefaultMaxSegment
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = DefaultMinSpeech
	}
	if c.Padding == 0 {
		c.Padding = min(DefaultPadding, c.MinSilence/2)
	}
	return c
}

// Validate checks c after defaults: a threshold in (0, 1), positive
// durations, padding at most half of MinSilence (so that two segments
// never overlap) and a maximum segment longer than MinSpeech.
func (c EndpointConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Threshold > 0 && c.Threshold < 1):
		return fmt.Errorf("vad: threshold %v outside (0, 1)", c.Threshold)
	case c.MinSilence < 0 || c.MaxSegment < 0 || c.MinSpeech < 0 || c.Padding < 0:
		return errors.New("vad: negative endpointing duration")
	case c.Padding > c.MinSilence/2:
		return fmt.Errorf("vad: padding %v above half of min_silence %v", c.Padding, c.MinSilence)
	case c.MaxSegment <= c.MinSpeech:
		return fmt.Errorf("vad: max_segment %v not above min_speech %v", c.MaxSegment, c.MinSpeech)
	}
	return nil
}

// Speech is one speech segment found by an Endpointer.
type Speech struct {
	// Start and End bound the segment in stream time (the times the
	// caller gave Write), padding included.
	Start, End time.Duration
	// Samples are the segment's 16 kHz samples, [Start, End).
	Samples []float32
}

// Endpointer cuts one audio stream (16 kHz mono) into speech segments from
// the speech probabilities of a ProbSource: a segment starts at a chunk
// whose probability reaches the threshold, and ends after MinSilence of
// low probability or at MaxSegment. It is pure logic over the
// probabilities; not safe for concurrent use (one per stream and channel).
type Endpointer struct {
	src ProbSource
	cfg EndpointConfig

	pending []float32     // samples not yet scored (< ChunkSize)
	next    time.Duration // stream time of pending[0]

	// The current segment: the samples from its start (padding
	// included), in speech when inSpeech.
	inSpeech  bool
	start     time.Duration // stream time of buf[0]
	buf       []float32
	lastVoice time.Duration // end of the last chunk scored as speech
	voiced    time.Duration // total length of the chunks scored as speech
}

// NewEndpointer returns an Endpointer over src with cfg (defaults
// applied).
func NewEndpointer(src ProbSource, cfg EndpointConfig) (*Endpointer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Endpointer{src: src, cfg: cfg.withDefaults()}, nil
}

// samplesOf returns the number of 16 kHz samples in d.
func samplesOf(d time.Duration) int { return int(d * SampleRate / time.Second) }

// durOf returns the length of n 16 kHz samples.
func durOf(n int) time.Duration { return time.Duration(n) * time.Second / SampleRate }

// Write adds samples whose first lies at stream time at and returns the
// segments that ended. A gap between the previous call's samples and at
// (dropped audio) is taken as silence.
func (e *Endpointer) Write(at time.Duration, samples []float32) ([]Speech, error) {
	var out []Speech
	if want := e.next + durOf(len(e.pending)); len(e.pending) > 0 && at > want+chunkDur {
		// A gap: the unscored tail is dropped, the segment ends.
		e.pending = e.pending[:0]
		if s, ok := e.end(); ok {
			out = append(out, s)
		}
	}
	if len(e.pending) == 0 {
		e.next = at
	}
	e.pending = append(e.pending, samples...)
	for len(e.pending) >= ChunkSize {
		chunk := e.pending[:ChunkSize]
		p, err := e.src.Prob(chunk)
		if err != nil {
			return out, fmt.Errorf("vad: endpointing: %w", err)
		}
		if s, ok := e.step(e.next, chunk, p); ok {
			out = append(out, s)
		}
		e.pending = e.pending[ChunkSize:]
		e.next += chunkDur
	}
	// Keep the unscored tail at the front of the buffer.
	e.pending = append(e.pending[:0:0], e.pending...)
	return out, nil
}

// step moves the state by one chunk at stream time at with probability p.
func (e *Endpointer) step(at time.Duration, chunk []float32, p float32) (Speech, bool) {
	c := e.cfg
	if !e.inSpeech {
		// Keep the last Padding of audio before speech starts.
		e.buf = append(e.buf, chunk...)
		if keep := samplesOf(c.Padding); len(e.buf) > keep+ChunkSize {
			e.buf = append(e.buf[:0], e.buf[len(e.buf)-keep-ChunkSize:]...)
		}
		e.start = at + chunkDur - durOf(len(e.buf))
		if p < c.Threshold {
			return Speech{}, false
		}
		e.inSpeech, e.voiced = true, 0
		e.lastVoice = at + chunkDur
		e.voiced += chunkDur
		return Speech{}, false
	}
	e.buf = append(e.buf, chunk...)
	if p >= c.Threshold-hysteresis {
		e.lastVoice = at + chunkDur
		e.voiced += chunkDur
	}
	if at+chunkDur-e.lastVoice >= c.MinSilence {
		return e.end()
	}
	if durOf(len(e.buf)) >= c.MaxSegment {
		s, ok := e.cut(at + chunkDur)
		// The speech goes on in a new segment from here.
		e.inSpeech, e.start, e.lastVoice, e.voiced = true, at+chunkDur, at+chunkDur, 0
		return s, ok
	}
	return Speech{}, false
}

// end closes the current segment with Padding after its last speech and
// resets the state; ok is false when there was no segment or it held
// less than MinSpeech of speech.
func (e *Endpointer) end() (Speech, bool) {
	if !e.inSpeech {
		e.buf = e.buf[:0]
		return Speech{}, false
	}
	end := min(e.lastVoice+e.cfg.Padding, e.start+durOf(len(e.buf)))
	s, ok := e.cut(end)
	e.inSpeech = false
	e.buf = nil
	return s, ok
}

// cut returns the segment [start, end) of the buffer and empties it; ok
// is false when it held less than MinSpeech of speech.
func (e *Endpointer) cut(end time.Duration) (Speech, bool) {
	n := min(samplesOf(end-e.start), len(e.buf))
	s := Speech{Start: e.start, End: e.start + durOf(n), Samples: e.buf[:n:n]}
	ok := e.voiced >= e.cfg.MinSpeech
	e.buf = nil
	return s, ok
}

// Flush ends the stream: it returns the segment in progress, if any (the
// unscored tail of fewer than ChunkSize samples is dropped), and resets
// the Endpointer for a new stream (the ProbSource keeps its state: reset
// it too).
func (e *Endpointer) Flush() []Speech {
	e.pending = nil
	s, ok := e.end()
	if !ok {
		return nil
	}
	return []Speech{s}
}
