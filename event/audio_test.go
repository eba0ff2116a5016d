package event_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
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
	c, err := event.DecodeAudioChunk([]byte(chunk(16000, "pcm16le", pcm)))
	if err != nil || c.StreamID != "call-42" || c.Start.Offset() != 3200*time.Millisecond || c.SampleRate != 16000 ||
		len(c.Samples) != 2 || c.Samples[0] != 0.5 || c.Samples[1] != -0.5 {
		t.Fatalf("pcm16le chunk: %+v, %v", c, err)
	}
	if c, err := event.DecodeAudioChunk([]byte(chunk(8000, "f32le", f32(0.25)))); err != nil || c.Samples[0] != 0.25 {
		t.Fatalf("f32le chunk: %+v, %v", c, err)
	}
	if !event.IsAudioChunk([]byte(chunk(8000, "f32le", f32(0.25)))) || event.IsAudioChunk([]byte(`{"text":"\"samples\": x"}`)) {
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
		{"unknown encoding", chunk(16000, "opus", pcm), "encoding", event.ErrRange},
		{"rate below telephony", chunk(4000, "mulaw", pcm), "sample_rate", event.ErrRange},
		{"three channels", strings.Replace(chunk(8000, "mulaw", pcm), `"samples"`, `"channels":3,"samples"`, 1), "channels", event.ErrRange},
		{"half a stereo frame", strings.Replace(chunk(8000, "mulaw", base64.StdEncoding.EncodeToString([]byte{1, 2, 3})), `"samples"`, `"channels":2,"samples"`, 1), "samples", event.ErrRange},
		{"not base64", chunk(16000, "pcm16le", "!!"), "samples", event.ErrType},
		{"odd length", chunk(16000, "pcm16le", base64.StdEncoding.EncodeToString([]byte{1, 2, 3})), "samples", event.ErrRange},
		{"empty", chunk(16000, "pcm16le", ""), "samples", event.ErrRange},
		{"too long", chunk(8000, "mulaw", base64.StdEncoding.EncodeToString(make([]byte, 80001))), "samples", event.ErrRange},
		{"NaN", chunk(16000, "f32le", f32(0, float32(math.NaN()))), "samples", event.ErrRange},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := event.DecodeAudioChunk([]byte(c.value))
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
	f.Add(`{"stream_id":"a","start":1,"sample_rate":8000,"encoding":"mulaw","channels":2,"samples":"/38="}`)
	f.Fuzz(func(t *testing.T, value string) {
		c, err := event.DecodeAudioChunk([]byte(value))
		if err != nil {
			var fe *event.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a field error", err)
			}
			return
		}
		if c.StreamID == "" || c.SampleRate < event.MinSampleRate || c.SampleRate > event.MaxSampleRate || c.Channels < 1 || c.Channels > event.MaxChannels ||
			len(c.Samples) == 0 || len(c.Samples)%c.Channels != 0 || c.Frames() > event.MaxChunkSeconds*c.SampleRate {
			t.Fatalf("accepted %+v", c)
		}
		for i, v := range c.Samples {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("sample %d is %v", i, v)
			}
		}
	})
}

// TestG711MatchesFFmpeg decodes every mu-law and A-law code with the
// tables and with ffmpeg (pcm_mulaw, pcm_alaw to s16le): the samples are
// the same 16-bit values.
func TestG711MatchesFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (scripts/setup.sh installs it)")
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, enc := range []event.AudioEncoding{event.MuLaw, event.ALaw} {
		t.Run(string(enc), func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "codes.raw")
			if err := os.WriteFile(in, codes, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", string(enc), "-ar", "8000", "-ac", "1", "-i", in,
				"-f", "s16le", "-").Output()
			if err != nil || len(out) != 2*256 {
				t.Fatalf("ffmpeg: %d bytes, %v", len(out), err)
			}
			got, err := enc.Decode(nil, codes)
			if err != nil {
				t.Fatal(err)
			}
			for c := range 256 {
				want := int16(binary.LittleEndian.Uint16(out[2*c:]))
				if got[c] != float32(want)/32768 {
					t.Errorf("code %#02x: %v, ffmpeg %d/32768", c, got[c]*32768, want)
				}
			}
		})
	}
}

// TestG711Standard checks points of the G.711 tables: mu-law 0xFF and 0x7F
// are +0 and -0, 0x80 and 0x00 the largest magnitudes 8031 (14-bit scale);
// A-law 0xD5 and 0x55 are the smallest steps ±1 (13-bit scale), 0xAA and
// 0x2A the largest ±4032.
func TestG711Standard(t *testing.T) {
	for _, c := range []struct {
		enc  event.AudioEncoding
		code byte
		want float64 // on the standard's scale
		bits int     // of that scale
	}{
		{event.MuLaw, 0xFF, 0, 14}, {event.MuLaw, 0x7F, 0, 14},
		{event.MuLaw, 0x80, 8031, 14}, {event.MuLaw, 0x00, -8031, 14},
		{event.ALaw, 0xD5, 1, 13}, {event.ALaw, 0x55, -1, 13},
		{event.ALaw, 0xAA, 4032, 13}, {event.ALaw, 0x2A, -4032, 13},
	} {
		got, err := c.enc.Decode(nil, []byte{c.code})
		if err != nil {
			t.Fatal(err)
		}
		if scaled := float64(got[0]) * math.Exp2(float64(c.bits-1)); math.Abs(scaled-c.want) > 1e-9 {
			t.Errorf("%s %#02x = %v on the %d-bit scale, want %v", c.enc, c.code, scaled, c.bits, c.want)
		}
	}
}

func TestAudioChunkChannels(t *testing.T) {
	c := event.AudioChunk{Channels: 2, Samples: []float32{0.5, -0.5, 0.25, 0.75}}
	if c.Frames() != 2 || fmt.Sprint(c.Channel(0)) != "[0.5 0.25]" || fmt.Sprint(c.Channel(1)) != "[-0.5 0.75]" || fmt.Sprint(c.Mono()) != "[0 0.5]" {
		t.Errorf("frames %d, channels %v %v, mono %v", c.Frames(), c.Channel(0), c.Channel(1), c.Mono())
	}
}
