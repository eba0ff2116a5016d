package kafka_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
)

// f32 encodes samples as f32le base64.
func f32(samples ...float32) string {
	b := make([]byte, 4*len(samples))
	for i, v := range samples {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestDecodeAudioChunk(t *testing.T) {
	pcm := base64.StdEncoding.EncodeToString([]byte{0x00, 0x40, 0x00, 0xc0}) // 0.5, -0.5
	chunk := func(rate int, enc, samples string) string {
		return fmt.Sprintf(`{"stream_id":"call-42","start":3.2,"sample_rate":%d,"encoding":%q,"samples":%q}`, rate, enc, samples)
	}
	c, err := kafka.DecodeAudioChunk([]byte(chunk(16000, "pcm16le", pcm)))
	if err != nil || c.StreamID != "call-42" || c.Start.Offset() != 3200*time.Millisecond || c.SampleRate != 16000 ||
		len(c.Samples) != 2 || c.Samples[0] != 0.5 || c.Samples[1] != -0.5 {
		t.Fatalf("pcm16le chunk: %+v, %v", c, err)
	}
	if c, err := kafka.DecodeAudioChunk([]byte(chunk(8000, "f32le", f32(0.25)))); err != nil || c.Samples[0] != 0.25 {
		t.Fatalf("f32le chunk: %+v, %v", c, err)
	}
	if !kafka.IsAudioChunk([]byte(chunk(8000, "f32le", f32(0.25)))) || kafka.IsAudioChunk([]byte(`{"text":"\"samples\": x"}`)) {
		t.Error("IsAudioChunk")
	}
	for _, c := range []struct {
		name, value, field string
		want               error
	}{
		{"malformed JSON", `{"stream_id":`, "", event.ErrSyntax},
		{"no stream", `{"start":1,"sample_rate":16000,"encoding":"f32le","samples":"AAAAAA=="}`, "stream_id", event.ErrMissing},
		{"no rate", `{"stream_id":"a","start":1,"encoding":"f32le","samples":"AAAAAA=="}`, "sample_rate", event.ErrMissing},
		{"bad start", `{"stream_id":"a","start":-1,"sample_rate":16000,"encoding":"f32le","samples":"AAAAAA=="}`, "start", event.ErrRange},
		{"zero rate", chunk(0, "f32le", f32(0)), "sample_rate", event.ErrRange},
		{"unknown encoding", chunk(16000, "mulaw", pcm), "encoding", event.ErrRange},
		{"not base64", chunk(16000, "pcm16le", "!!"), "samples", event.ErrType},
		{"odd length", chunk(16000, "pcm16le", base64.StdEncoding.EncodeToString([]byte{1, 2, 3})), "samples", event.ErrRange},
		{"empty", chunk(16000, "pcm16le", ""), "samples", event.ErrRange},
		{"too long", chunk(1, "pcm16le", base64.StdEncoding.EncodeToString(make([]byte, 2*11))), "samples", event.ErrRange},
		{"NaN", chunk(16000, "f32le", f32(0, float32(math.NaN()))), "samples", event.ErrRange},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kafka.DecodeAudioChunk([]byte(c.value))
			var fe *event.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want field %q and %v", err, c.field, c.want)
			}
		})
	}
}

// FuzzDecodeAudioChunk checks that any input decodes to a valid chunk or a
// field error, never a panic.
func FuzzDecodeAudioChunk(f *testing.F) {
	f.Add(`{"stream_id":"a","start":1,"sample_rate":16000,"encoding":"pcm16le","samples":"AEAAwA=="}`)
	f.Add(`{"stream_id":"a","start":"2026-11-27T10:00:00Z","sample_rate":8000,"encoding":"f32le","samples":"AACAPg=="}`)
	f.Add(`{"stream_id":"a","start":1,"sample_rate":1,"encoding":"f32le","samples":"AADAfw=="}`)
	f.Fuzz(func(t *testing.T, value string) {
		c, err := kafka.DecodeAudioChunk([]byte(value))
		if err != nil {
			var fe *event.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a field error", err)
			}
			return
		}
		if c.StreamID == "" || c.SampleRate < 1 || c.SampleRate > kafka.MaxSampleRate || len(c.Samples) == 0 || len(c.Samples) > kafka.MaxChunkSeconds*c.SampleRate {
			t.Fatalf("accepted %+v", c)
		}
		for i, v := range c.Samples {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("sample %d is %v", i, v)
			}
		}
	})
}
