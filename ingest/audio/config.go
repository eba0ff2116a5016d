package audio

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Default values used for the zero fields of a [Config].
const (
	// DefaultSampleRate is the default sample rate in Hz.
	DefaultSampleRate = 16000
	// DefaultChannels is the default number of channels (mono).
	DefaultChannels = 1
	// DefaultFramesPerBuffer is the default number of frames PortAudio
	// hands the callback at once (16 ms at 16 kHz).
	DefaultFramesPerBuffer = 256
	// DefaultChunkDuration is the default length of a chunk returned by
	// Stream.Read: 20 ms, the frame of real-time speech codecs (Opus,
	// WebRTC), so that a window closing mid-chunk waits at most 20 ms for
	// the rest of its audio.
	DefaultChunkDuration = 20 * time.Millisecond
	// DefaultBufferDuration is the default capacity of the ring buffer.
	DefaultBufferDuration = 2 * time.Second
)

// ErrNotBuilt is returned by Init, Open and ListDevices when the package was
// built without PortAudio (tag noportaudio or CGO_ENABLED=0).
var ErrNotBuilt = errors.New("audio: built without PortAudio (tag noportaudio or CGO_ENABLED=0)")

// ErrNotInitialized is returned by Open and ListDevices before Init.
var ErrNotInitialized = errors.New("audio: PortAudio not initialised (call audio.Init first)")

// ErrNoDevice is wrapped by the error Open returns when there is no input
// device (no sound card) or none with the configured name.
var ErrNoDevice = errors.New("audio: no capture device")

// Config configures an input stream. The zero value of a field selects its
// documented default; [Config.Validate] checks the fields and Open calls it.
type Config struct {
	// Device is the name of the input device as ListDevices reports it;
	// a unique case-sensitive substring of the name also selects it.
	// Empty selects the default input device.
	Device string
	// SampleRate is the sample rate in Hz; DefaultSampleRate (16000) when
	// zero. The device (or ALSA's plug layer) converts if needed.
	SampleRate float64
	// Channels is the number of interleaved channels; DefaultChannels (1)
	// when zero.
	Channels int
	// FramesPerBuffer is the number of frames per PortAudio callback;
	// DefaultFramesPerBuffer (256) when zero.
	FramesPerBuffer int
	// ChunkFrames is the number of frames in a chunk returned by Read;
	// DefaultChunkDuration (20 ms) of frames when zero.
	ChunkFrames int
	// BufferFrames is the capacity of the ring buffer in frames; the
	// oldest frames are dropped beyond it. DefaultBufferDuration (2 s) of
	// frames when zero; at least ChunkFrames.
	BufferFrames int
	// Latency is the suggested input latency passed to PortAudio; the
	// device's default high input latency when zero.
	Latency time.Duration
}

// Validate reports the first invalid field of c, or nil.
func (c Config) Validate() error {
	switch {
	case c.SampleRate < 0 || c.SampleRate > 1e6:
		return fmt.Errorf("audio: SampleRate %g Hz is out of range", c.SampleRate)
	case c.Channels < 0:
		return fmt.Errorf("audio: Channels %d is negative", c.Channels)
	case c.FramesPerBuffer < 0:
		return fmt.Errorf("audio: FramesPerBuffer %d is negative", c.FramesPerBuffer)
	case c.ChunkFrames < 0:
		return fmt.Errorf("audio: ChunkFrames %d is negative", c.ChunkFrames)
	case c.BufferFrames < 0:
		return fmt.Errorf("audio: BufferFrames %d is negative", c.BufferFrames)
	case c.Latency < 0:
		return fmt.Errorf("audio: Latency %v is negative", c.Latency)
	}
	d := c.withDefaults()
	if d.BufferFrames < d.ChunkFrames {
		return fmt.Errorf("audio: BufferFrames %d is smaller than ChunkFrames %d", d.BufferFrames, d.ChunkFrames)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.SampleRate == 0 {
		c.SampleRate = DefaultSampleRate
	}
	if c.Channels == 0 {
		c.Channels = DefaultChannels
	}
	if c.FramesPerBuffer == 0 {
		c.FramesPerBuffer = DefaultFramesPerBuffer
	}
	if c.ChunkFrames == 0 {
		c.ChunkFrames = max(1, int(c.SampleRate*DefaultChunkDuration.Seconds()))
	}
	if c.BufferFrames == 0 {
		c.BufferFrames = max(c.ChunkFrames, int(c.SampleRate*DefaultBufferDuration.Seconds()))
	}
	return c
}

// Chunk is a run of consecutive captured frames.
type Chunk struct {
	// Offset is the number of frames the device captured before this
	// chunk, including dropped ones.
	Offset int64
	// Start is the event time of the first frame: Offset / SampleRate.
	Start time.Duration
	// SampleRate is the sample rate in Hz and Channels the number of
	// interleaved channels of Samples.
	SampleRate float64
	Channels   int
	// Samples holds the frames, channels interleaved, in [-1, 1]. The
	// slice is owned by the receiver.
	Samples []float32
}

// Frames returns the number of frames in c.
func (c Chunk) Frames() int { return len(c.Samples) / max(c.Channels, 1) }

// Duration returns the length of c.
func (c Chunk) Duration() time.Duration { return frameTime(int64(c.Frames()), c.SampleRate) }

// frameTime returns the time of n frames at rate Hz, rounded to the
// nanosecond.
func frameTime(n int64, rate float64) time.Duration {
	return time.Duration(math.Round(float64(n) * float64(time.Second) / rate))
}

// Stats counts what a stream did so far.
type Stats struct {
	// Frames is the number of frames the device delivered to the callback.
	Frames int64
	// Dropped is the number of frames overwritten before Read took them
	// (the reader fell more than BufferFrames behind).
	Dropped int64
	// Overflows is the number of callbacks in which PortAudio reported an
	// input overflow (samples lost before they reached the callback).
	Overflows int64
}

// Device describes an audio input device.
type Device struct {
	// Name is the device name, as Config.Device matches it.
	Name string
	// HostAPI is the name of the PortAudio host API (ALSA, JACK...).
	HostAPI string
	// MaxInputChannels is the number of input channels.
	MaxInputChannels int
	// DefaultSampleRate is the device's default sample rate in Hz.
	DefaultSampleRate float64
	// Default reports whether this is the default input device.
	Default bool
}
