package audio

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/wav"
	"github.com/cmc-stream/cmc-stream/internal/wav/wavtest"
)

// The formats and the malformed headers the decoder knows are tested in
// internal/wav; the tests here are of ReadWAV and DecodeWAV on top of it.

// TestReadWAVGoldenClip writes the 16 kHz speech golden, which librosa read
// from a 16-bit file (so every sample is k/32768), as a 16-bit WAV and reads
// it back bit for bit.
func TestReadWAVGoldenClip(t *testing.T) {
	t.Parallel()
	y := golden(t, "speech0880_sr16000", "y").Data
	frames := make([][]float64, len(y))
	for i, v := range y {
		frames[i] = []float64{float64(v)}
	}
	path := filepath.Join(t.TempDir(), "speech0880.wav")
	if err := os.WriteFile(path, wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 16000}, frames), 0o600); err != nil {
		t.Fatal(err)
	}
	got, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(got) != len(y) {
		t.Fatalf("rate %d, %d samples; want 16000, %d", rate, len(got), len(y))
	}
	for i := range y {
		if got[i] != y[i] {
			t.Fatalf("sample %d = %v, want %v", i, got[i], y[i])
		}
	}
}

// TestReadWAVMalformed checks that the errors of the decoder, in the header
// or in the data, become a *WAVFormatError naming the file.
func TestReadWAVMalformed(t *testing.T) {
	t.Parallel()
	mono16 := wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 8000}
	good := wavtest.Encode(mono16, [][]float64{{0.5}, {-0.5}})
	// good: RIFF header 0-11, fmt chunk 12-35 (body 20-35), data chunk 36-.
	tests := []struct {
		name   string
		file   []byte
		chunk  string
		offset int64
		want   string
	}{
		{"empty", nil, "RIFF", 0, "file ends"},
		{"zero channels", wavtest.Patch(good, 22, 0), "fmt ", 12, "0 channels"},
		{"partial frame", wavtest.Patch(good, 40, 3), "data", 36, "whole number"},
		{"data truncated", good[:len(good)-1], "data", 36, "ends after 3"},
		{"unknown size cut inside a frame", wavtest.Patch(good, 40, 0xFF, 0xFF, 0xFF, 0xFF)[:len(good)-1], "data", 36, "inside a 2-byte frame"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "clip.wav")
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, file := range []string{path, ""} {
				var err error
				if file == "" {
					_, _, err = DecodeWAV(bytes.NewReader(tc.file))
				} else {
					_, _, err = ReadWAV(path)
				}
				var fe *WAVFormatError
				if !errors.As(err, &fe) || !errors.Is(err, ErrMalformedWAV) {
					t.Fatalf("error = %v, want a *WAVFormatError", err)
				}
				msg := err.Error()
				name := cmp.Or(file, "WAV stream")
				if fe.Chunk != tc.chunk || fe.Offset != tc.offset || fe.File != file || !strings.Contains(msg, tc.want) ||
					!strings.HasPrefix(msg, fmt.Sprintf("audio: %s: %q chunk at byte %d: ", name, tc.chunk, tc.offset)) {
					t.Fatalf("error = %q (chunk %q at %d), want chunk %q at %d, %q and %q", msg, fe.Chunk, fe.Offset, tc.chunk, tc.offset, name, tc.want)
				}
			}
		})
	}
	if _, _, err := ReadWAV(filepath.Join(t.TempDir(), "missing.wav")); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestDecodeWAVStreamingSize(t *testing.T) {
	t.Parallel()
	// A streaming encoder that cannot seek writes 0xFFFFFFFF as the data
	// size; the decoder reads to the end of the stream.
	file := wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 8000}, [][]float64{{0.5}, {-0.25}})
	file = wavtest.Patch(file, 40, binary.LittleEndian.AppendUint32(nil, wav.UnknownSize)...)
	got, rate, err := DecodeWAV(bytes.NewReader(file))
	if err != nil || rate != 8000 || len(got) != 2 || got[0] != 0.5 || got[1] != -0.25 {
		t.Fatalf("DecodeWAV = %v, %d, %v", got, rate, err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 2, Rate: 8000}, [][]float64{{0.5, 0.25}}))
	f.Add(wavtest.Encode(wavtest.Layout{Tag: wav.FormatIEEEFloat, Bits: 32, Channels: 1, Rate: 8000, Extensible: true}, [][]float64{{0.5}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, rate, err := DecodeWAV(bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "audio: ") || !errors.Is(err, ErrMalformedWAV) {
				t.Fatalf("error without package prefix or not a WAVFormatError: %v", err)
			}
			return
		}
		if rate <= 0 || len(samples) > len(b) {
			t.Fatalf("rate %d, %d samples from %d bytes", rate, len(samples), len(b))
		}
	})
}

func ExampleReadWAV() {
	path := filepath.Join(os.TempDir(), "cmc-stream-example.wav")
	layout := wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 2, Rate: 16000}
	if err := os.WriteFile(path, wavtest.Encode(layout, [][]float64{{0.5, 0.25}, {-1, 0}}), 0o600); err != nil {
		panic(err)
	}
	defer os.Remove(path)
	samples, rate, err := ReadWAV(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(rate, samples)
	// Output: 16000 [0.375 -0.5]
}
