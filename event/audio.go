package event

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// AudioChunk is a piece of one stream's audio, as call-centre feeds and the
// WebSocket source deliver it: interleaved samples of one or two channels
// at a sample rate, from a start time.
type AudioChunk struct {
	// StreamID names the stream (the call id).
	StreamID string
	// Start is the time of the first sample: a wall-clock time or an
	// offset from the stream's start.
	Start Time
	// SampleRate is in Hz, from MinSampleRate to MaxSampleRate.
	SampleRate int
	// Channels is 1 or 2 (MaxChannels).
	Channels int
	// Samples are the samples in [-1, 1], channels interleaved (left,
	// right, left, ...): len(Samples) is a multiple of Channels.
	Samples []float32
}

// Frames returns the number of samples per channel.
func (c AudioChunk) Frames() int { return len(c.Samples) / max(c.Channels, 1) }

// Channel returns the samples of channel ch, a new slice.
func (c AudioChunk) Channel(ch int) []float32 {
	n := max(c.Channels, 1)
	out := make([]float32, c.Frames())
	for i := range out {
		out[i] = c.Samples[i*n+ch]
	}
	return out
}

// Mono returns the channels averaged: Samples itself when there is one.
func (c AudioChunk) Mono() []float32 {
	if c.Channels <= 1 {
		return c.Samples
	}
	out := make([]float32, c.Frames())
	for i := range out {
		var s float32
		for ch := range c.Channels {
			s += c.Samples[i*c.Channels+ch]
		}
		out[i] = s / float32(c.Channels)
	}
	return out
}

// Limits of an audio chunk.
const (
	// MinSampleRate is the lowest sample rate accepted, in Hz: narrowband
	// telephony.
	MinSampleRate = 8000
	// MaxSampleRate is the highest sample rate accepted, in Hz.
	MaxSampleRate = 192_000
	// MaxChunkSeconds bounds a chunk's length, in seconds of audio.
	MaxChunkSeconds = 10
	// MaxChannels is the most channels a chunk may have: a stereo call,
	// one party per channel.
	MaxChannels = 2
)

// AudioEncoding is how a chunk's samples are encoded in bytes.
type AudioEncoding string

// The audio encodings.
const (
	// PCM16LE is signed 16-bit little-endian PCM.
	PCM16LE AudioEncoding = "pcm16le"
	// F32LE is IEEE 754 float32 little-endian, in [-1, 1].
	F32LE AudioEncoding = "f32le"
	// MuLaw is G.711 mu-law, 8 bits a sample (North American and Japanese
	// telephony, Twilio Media Streams).
	MuLaw AudioEncoding = "mulaw"
	// ALaw is G.711 A-law, 8 bits a sample (European telephony).
	ALaw AudioEncoding = "alaw"
)

// Width returns the bytes of one sample, 0 for an unknown encoding.
func (e AudioEncoding) Width() int {
	switch e {
	case PCM16LE:
		return 2
	case F32LE:
		return 4
	case MuLaw, ALaw:
		return 1
	}
	return 0
}

// Decode appends the samples of raw to dst and returns it. raw must hold a
// whole number of samples; a float32 sample that is NaN or infinite is an
// error wrapping ErrRange.
func (e AudioEncoding) Decode(dst []float32, raw []byte) ([]float32, error) {
	w := e.Width()
	switch {
	case w == 0:
		return dst, fmt.Errorf("%w: encoding %q, want pcm16le, f32le, mulaw or alaw", ErrRange, string(e))
	case len(raw)%w != 0:
		return dst, fmt.Errorf("%w: %d bytes is not a whole number of %s samples", ErrRange, len(raw), e)
	}
	switch e {
	case PCM16LE:
		for i := 0; i < len(raw); i += 2 {
			dst = append(dst, float32(int16(binary.LittleEndian.Uint16(raw[i:])))/32768)
		}
	case F32LE:
		for i := 0; i < len(raw); i += 4 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return dst, fmt.Errorf("%w: sample %d is %v", ErrRange, i/4, v)
			}
			dst = append(dst, v)
		}
	case MuLaw:
		for _, b := range raw {
			dst = append(dst, muLawTable[b])
		}
	case ALaw:
		for _, b := range raw {
			dst = append(dst, aLawTable[b])
		}
	}
	return dst, nil
}

// audioJSON is the JSON form of an AudioChunk.
type audioJSON struct {
	StreamID   *string          `json:"stream_id"`
	Start      *json.RawMessage `json:"start"`
	SampleRate *int             `json:"sample_rate"`
	Encoding   *string          `json:"encoding"`
	Channels   *int             `json:"channels"`
	Samples    *string          `json:"samples"`
}

// IsAudioChunk reports whether value is a JSON object with a "samples"
// field, the mark of an audio chunk among transcript segments on one feed.
// It does not validate anything else.
func IsAudioChunk(value []byte) bool {
	var probe struct {
		Samples json.RawMessage `json:"samples"`
	}
	return json.Unmarshal(value, &probe) == nil && probe.Samples != nil
}

// DecodeAudioChunk decodes an audio chunk from its JSON form
//
//	{"stream_id":"call-42","start":3.2,"sample_rate":8000,"encoding":"mulaw","channels":2,"samples":"<base64>"}
//
// where start may be an RFC 3339 time, sample_rate is from MinSampleRate to
// MaxSampleRate, encoding is one of the AudioEncoding values, channels is 1
// (the default) or 2, and samples holds the interleaved samples in standard
// base64, at most MaxChunkSeconds of them. Every field but channels is
// required. The value's size bounds what it allocates. Errors are
// *FieldError values naming the field, wrapping ErrSyntax, ErrMissing,
// ErrType or ErrRange.
func DecodeAudioChunk(value []byte) (AudioChunk, error) {
	var j audioJSON
	if err := json.Unmarshal(value, &j); err != nil {
		return AudioChunk{}, &FieldError{Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	missing := func(field string) error {
		return &FieldError{Field: field, Err: ErrMissing}
	}
	switch {
	case j.StreamID == nil || *j.StreamID == "":
		return AudioChunk{}, missing("stream_id")
	case j.Start == nil:
		return AudioChunk{}, missing("start")
	case j.SampleRate == nil:
		return AudioChunk{}, missing("sample_rate")
	case j.Encoding == nil:
		return AudioChunk{}, missing("encoding")
	case j.Samples == nil:
		return AudioChunk{}, missing("samples")
	}
	if err := ValidateStreamID(*j.StreamID); err != nil {
		return AudioChunk{}, &FieldError{Field: "stream_id", Err: err}
	}
	c := AudioChunk{StreamID: *j.StreamID, SampleRate: *j.SampleRate, Channels: 1}
	if j.Channels != nil {
		c.Channels = *j.Channels
	}
	if err := c.Start.UnmarshalJSON(*j.Start); err != nil {
		return AudioChunk{}, &FieldError{Field: "start", Err: err}
	}
	if c.SampleRate < MinSampleRate || c.SampleRate > MaxSampleRate {
		return AudioChunk{}, &FieldError{Field: "sample_rate", Err: fmt.Errorf("%w: %d Hz, want %d to %d", ErrRange, c.SampleRate, MinSampleRate, MaxSampleRate)}
	}
	if c.Channels < 1 || c.Channels > MaxChannels {
		return AudioChunk{}, &FieldError{Field: "channels", Err: fmt.Errorf("%w: %d, want 1 or %d", ErrRange, c.Channels, MaxChannels)}
	}
	enc := AudioEncoding(*j.Encoding)
	if enc.Width() == 0 {
		return AudioChunk{}, &FieldError{Field: "encoding", Err: fmt.Errorf("%w: %q, want pcm16le, f32le, mulaw or alaw", ErrRange, *j.Encoding)}
	}
	raw, err := base64.StdEncoding.DecodeString(*j.Samples)
	if err != nil {
		return AudioChunk{}, &FieldError{Field: "samples", Err: fmt.Errorf("%w: not base64: %v", ErrType, err)}
	}
	n := len(raw) / enc.Width()
	switch {
	case len(raw)%enc.Width() != 0:
		return AudioChunk{}, &FieldError{Field: "samples", Err: fmt.Errorf("%w: %d bytes is not a whole number of %s samples", ErrRange, len(raw), enc)}
	case n == 0:
		return AudioChunk{}, &FieldError{Field: "samples", Err: fmt.Errorf("%w: no samples", ErrRange)}
	case n%c.Channels != 0:
		return AudioChunk{}, &FieldError{Field: "samples", Err: fmt.Errorf("%w: %d samples is not a whole number of %d-channel frames", ErrRange, n, c.Channels)}
	case n/c.Channels > MaxChunkSeconds*c.SampleRate:
		return AudioChunk{}, &FieldError{Field: "samples", Err: fmt.Errorf("%w: %d frames at %d Hz, more than %d s", ErrRange, n/c.Channels, c.SampleRate, MaxChunkSeconds)}
	}
	if c.Samples, err = enc.Decode(make([]float32, 0, n), raw); err != nil {
		return AudioChunk{}, &FieldError{Field: "samples", Err: err}
	}
	return c, nil
}
