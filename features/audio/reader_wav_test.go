package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wavLayout describes a WAV file for the test encoder.
type wavLayout struct {
	tag        uint16
	bits       int
	channels   int
	rate       int
	extensible bool
}

// encodeWAV writes frames (one value per channel each) in layout l; extra
// chunks go between fmt and data.
func encodeWAV(l wavLayout, frames [][]float64, extra ...[]byte) []byte {
	var data bytes.Buffer
	le := binary.LittleEndian
	for _, fr := range frames {
		for _, v := range fr {
			switch {
			case l.tag == wavFormatIEEEFloat && l.bits == 32:
				data.Write(le.AppendUint32(nil, math.Float32bits(float32(v))))
			case l.tag == wavFormatIEEEFloat:
				data.Write(le.AppendUint64(nil, math.Float64bits(v)))
			case l.bits == 8:
				data.WriteByte(byte(v*128 + 128))
			default:
				q := uint32(int32(math.Round(v * math.Exp2(float64(l.bits-1)))))
				b := le.AppendUint32(nil, q)
				data.Write(b[:l.bits/8])
			}
		}
	}
	block := l.channels * l.bits / 8
	fmtBody := le.AppendUint16(nil, l.tag)
	if l.extensible {
		fmtBody = le.AppendUint16(nil, wavFormatExtensible)
	}
	fmtBody = le.AppendUint16(fmtBody, uint16(l.channels))
	fmtBody = le.AppendUint32(fmtBody, uint32(l.rate))
	fmtBody = le.AppendUint32(fmtBody, uint32(l.rate*block))
	fmtBody = le.AppendUint16(fmtBody, uint16(block))
	fmtBody = le.AppendUint16(fmtBody, uint16(l.bits))
	if l.extensible {
		fmtBody = le.AppendUint16(fmtBody, 22)
		fmtBody = le.AppendUint16(fmtBody, uint16(l.bits))
		fmtBody = le.AppendUint32(fmtBody, 0)
		fmtBody = le.AppendUint16(fmtBody, l.tag)
		fmtBody = append(fmtBody, wavSubformatSuffix...)
	}
	var body bytes.Buffer
	body.WriteString("WAVE")
	body.Write(riffChunk("fmt ", fmtBody))
	for _, c := range extra {
		body.Write(c)
	}
	body.Write(riffChunk("data", data.Bytes()))
	return riffChunk("RIFF", body.Bytes())
}

// riffChunk frames body as a RIFF chunk, padded to an even size.
func riffChunk(id string, body []byte) []byte {
	out := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func TestDecodeWAVFormats(t *testing.T) {
	t.Parallel()
	// Values exactly representable in every format (PCM cannot hold +1).
	// Extra channels are silent or constant, so the means are exact too.
	values := []float64{0, 0.5, -0.5, -1, 0.25, -0.75}
	layouts := []wavLayout{
		{tag: wavFormatPCM, bits: 8},
		{tag: wavFormatPCM, bits: 16},
		{tag: wavFormatPCM, bits: 24},
		{tag: wavFormatPCM, bits: 32},
		{tag: wavFormatIEEEFloat, bits: 32},
		{tag: wavFormatIEEEFloat, bits: 64},
		{tag: wavFormatPCM, bits: 24, extensible: true},
		{tag: wavFormatIEEEFloat, bits: 32, extensible: true},
	}
	for _, l := range layouts {
		for _, channels := range []int{1, 2, 3} {
			l.channels, l.rate = channels, 16000
			t.Run(fmt.Sprintf("tag %d %d-bit extensible=%v %d channels", l.tag, l.bits, l.extensible, channels), func(t *testing.T) {
				frames := make([][]float64, len(values))
				want := make([]float32, len(values))
				for i, v := range values {
					switch channels {
					case 1:
						frames[i], want[i] = []float64{v}, float32(v)
					case 2:
						frames[i], want[i] = []float64{v, 0}, float32(v/2)
					default:
						frames[i], want[i] = []float64{v, v, 0.5}, float32((2*v+0.5)/3)
					}
				}
				got, rate, err := DecodeWAV(bytes.NewReader(encodeWAV(l, frames, riffChunk("LIST", []byte("odd")))))
				if err != nil {
					t.Fatal(err)
				}
				if rate != 16000 || len(got) != len(want) {
					t.Fatalf("rate %d, %d samples; want 16000, %d", rate, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("sample %d = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

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
	if err := os.WriteFile(path, encodeWAV(wavLayout{tag: wavFormatPCM, bits: 16, channels: 1, rate: 16000}, frames), 0o600); err != nil {
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

func TestReadWAVMalformed(t *testing.T) {
	t.Parallel()
	mono16 := wavLayout{tag: wavFormatPCM, bits: 16, channels: 1, rate: 8000}
	good := encodeWAV(mono16, [][]float64{{0.5}, {-0.5}})
	patch := func(at int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[at:], b)
		return c
	}
	// good: RIFF header 0-11, fmt chunk 12-35 (body 20-35), data chunk 36-.
	tests := []struct {
		name  string
		file  []byte
		chunk string
		want  string
	}{
		{"empty", nil, "RIFF", "file ends"},
		{"not RIFF", patch(0, 'R', 'I', 'F', 'X'), "RIFF", "not a RIFF/WAVE"},
		{"not WAVE", patch(8, 'A', 'V', 'I', ' '), "RIFF", "not a RIFF/WAVE"},
		{"fmt too short", patch(16, 8), "fmt ", "size 8"},
		{"zero channels", patch(22, 0), "fmt ", "0 channels"},
		{"zero rate", patch(24, 0, 0, 0, 0), "fmt ", "sample rate 0"},
		{"ADPCM", patch(20, 2), "fmt ", "format tag"},
		{"12-bit PCM", patch(34, 12), "fmt ", "12 bits"},
		{"bad block align", patch(32, 3), "fmt ", "block align 3"},
		{"partial frame", patch(40, 3), "data", "whole number"},
		{"data truncated", good[:len(good)-1], "data", "ends after 3"},
		{"header truncated", good[:40], "chunk header", "inside a chunk header"},
		{"no data chunk", good[:36], "data", "no data chunk"},
		{"data before fmt", append(bytes.Clone(good[:12]), good[36:]...), "data", "before the fmt chunk"},
		{"no fmt chunk", good[:12], "fmt ", "no fmt chunk"},
		{"skipped chunk truncated", append(bytes.Clone(good[:12]), 'L', 'I', 'S', 'T', 200, 0, 0, 0, 1), "LIST", "ends early"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "clip.wav")
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadWAV(path)
			var fe *WAVFormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformedWAV) {
				t.Fatalf("error = %v, want a *WAVFormatError", err)
			}
			msg := err.Error()
			if fe.Chunk != tc.chunk || fe.File != path || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "audio: ") {
				t.Fatalf("error = %q (chunk %q), want chunk %q, the path and %q", msg, fe.Chunk, tc.chunk, tc.want)
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
	file := encodeWAV(wavLayout{tag: wavFormatPCM, bits: 16, channels: 1, rate: 8000}, [][]float64{{0.5}, {-0.25}})
	copy(file[40:], []byte{0xFF, 0xFF, 0xFF, 0xFF})
	got, _, err := DecodeWAV(bytes.NewReader(file))
	if err != nil || len(got) != 2 || got[0] != 0.5 || got[1] != -0.25 {
		t.Fatalf("DecodeWAV = %v, %v", got, err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(encodeWAV(wavLayout{tag: wavFormatPCM, bits: 16, channels: 2, rate: 8000}, [][]float64{{0.5, 0.25}}))
	f.Add(encodeWAV(wavLayout{tag: wavFormatIEEEFloat, bits: 32, channels: 1, rate: 8000, extensible: true}, [][]float64{{0.5}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, rate, err := DecodeWAV(bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "audio: ") {
				t.Fatalf("error without package prefix: %v", err)
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
	layout := wavLayout{tag: wavFormatPCM, bits: 16, channels: 2, rate: 16000}
	if err := os.WriteFile(path, encodeWAV(layout, [][]float64{{0.5, 0.25}, {-1, 0}}), 0o600); err != nil {
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
