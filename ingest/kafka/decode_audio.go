package kafka

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/cmc-stream/cmc-stream/event"
)

// AudioChunk is a piece of one stream's audio, as call-centre feeds deliver
// media over Kafka: mono samples at a sample rate, from a start time.
type AudioChunk struct {
	// StreamID names the stream (the call id).
	StreamID string
	// Start is the time of the first sample: a wall-clock time or an
	// offset from the stream's start.
	Start event.Time
	// SampleRate is in Hz.
	SampleRate int
	// Samples are the mono samples in [-1, 1].
	Samples []float32
}

// Limits of an audio chunk.
const (
	// MaxSampleRate is the highest sample rate accepted, in Hz.
	MaxSampleRate = 192_000
	// MaxChunkSeconds bounds a chunk's length, in seconds of audio.
	MaxChunkSeconds = 10
)

// audioJSON is the JSON form of an AudioChunk.
type audioJSON struct {
	StreamID   *string          `json:"stream_id"`
	Start      *json.RawMessage `json:"start"`
	SampleRate *int             `json:"sample_rate"`
	Encoding   *string          `json:"encoding"`
	Samples    *string          `json:"samples"`
}

// IsAudioChunk reports whether value is a JSON object with a "samples"
// field, the mark of an audio chunk among transcript segments on one topic.
// It does not validate anything else.
func IsAudioChunk(value []byte) bool {
	var probe struct {
		Samples json.RawMessage `json:"samples"`
	}
	return json.Unmarshal(value, &probe) == nil && probe.Samples != nil
}

// DecodeAudioChunk decodes an audio chunk from its JSON form
//
//	{"stream_id":"call-42","start":3.2,"sample_rate":16000,"encoding":"pcm16le","samples":"<base64>"}
//
// where start may be an RFC 3339 time, encoding is "pcm16le" (signed 16-bit
// little-endian) or "f32le" (IEEE float32 little-endian), and samples holds
// the mono samples in standard base64, at most MaxChunkSeconds of them.
// Every field is required. Errors are *event.FieldError values naming the
// field, wrapping event.ErrSyntax, ErrMissing, ErrType or ErrRange; a float
// sample that is NaN or infinite is out of range.
func DecodeAudioChunk(value []byte) (AudioChunk, error) {
	var j audioJSON
	if err := json.Unmarshal(value, &j); err != nil {
		return AudioChunk{}, &event.FieldError{Err: fmt.Errorf("%w: %v", event.ErrSyntax, err)}
	}
	missing := func(field string) error {
		return &event.FieldError{Field: field, Err: event.ErrMissing}
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
	c := AudioChunk{StreamID: *j.StreamID, SampleRate: *j.SampleRate}
	if err := c.Start.UnmarshalJSON(*j.Start); err != nil {
		return AudioChunk{}, &event.FieldError{Field: "start", Err: err}
	}
	if c.SampleRate <= 0 || c.SampleRate > MaxSampleRate {
		return AudioChunk{}, &event.FieldError{Field: "sample_rate", Err: fmt.Errorf("%w: %d Hz, want 1 to %d", event.ErrRange, c.SampleRate, MaxSampleRate)}
	}
	raw, err := base64.StdEncoding.DecodeString(*j.Samples)
	if err != nil {
		return AudioChunk{}, &event.FieldError{Field: "samples", Err: fmt.Errorf("%w: not base64: %v", event.ErrType, err)}
	}
	width := 0
	switch *j.Encoding {
	case "pcm16le":
		width = 2
	case "f32le":
		width = 4
	default:
		return AudioChunk{}, &event.FieldError{Field: "encoding", Err: fmt.Errorf("%w: %q, want pcm16le or f32le", event.ErrRange, *j.Encoding)}
	}
	n := len(raw) / width
	switch {
	case len(raw)%width != 0:
		return AudioChunk{}, &event.FieldError{Field: "samples", Err: fmt.Errorf("%w: %d bytes is not a whole number of %s samples", event.ErrRange, len(raw), *j.Encoding)}
	case n == 0:
		return AudioChunk{}, &event.FieldError{Field: "samples", Err: fmt.Errorf("%w: no samples", event.ErrRange)}
	case n > MaxChunkSeconds*c.SampleRate:
		return AudioChunk{}, &event.FieldError{Field: "samples", Err: fmt.Errorf("%w: %d samples at %d Hz, more than %d s", event.ErrRange, n, c.SampleRate, MaxChunkSeconds)}
	}
	c.Samples = make([]float32, n)
	for i := range c.Samples {
		if width == 2 {
			c.Samples[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
			continue
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return AudioChunk{}, &event.FieldError{Field: "samples", Err: fmt.Errorf("%w: sample %d is %v", event.ErrRange, i, v)}
		}
		c.Samples[i] = v
	}
	return c, nil
}
