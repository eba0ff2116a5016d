package wav_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cmc-stream/cmc-stream/internal/wav"
	"github.com/cmc-stream/cmc-stream/internal/wav/wavtest"
)

// decodeAll decodes a whole stream, reading at most chunk frames at a time.
func decodeAll(r io.Reader, chunk int) ([]float32, wav.Format, error) {
	d, err := wav.NewDecoder(r)
	if err != nil {
		return nil, wav.Format{}, err
	}
	var all []float32
	buf := make([]float32, chunk)
	for {
		n, err := d.Read(buf)
		all = append(all, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return all, d.Format(), nil
		}
		if err != nil {
			return all, d.Format(), err
		}
	}
}

func TestDecoderFormats(t *testing.T) {
	t.Parallel()
	// Values exactly representable in every format (PCM cannot hold +1).
	// Extra channels are silent or constant, so the means are exact too.
	values := []float64{0, 0.5, -0.5, -1, 0.25, -0.75}
	layouts := []wavtest.Layout{
		{Tag: wav.FormatPCM, Bits: 8},
		{Tag: wav.FormatPCM, Bits: 16},
		{Tag: wav.FormatPCM, Bits: 24},
		{Tag: wav.FormatPCM, Bits: 32},
		{Tag: wav.FormatIEEEFloat, Bits: 32},
		{Tag: wav.FormatIEEEFloat, Bits: 64},
		{Tag: wav.FormatPCM, Bits: 24, Extensible: true},
		{Tag: wav.FormatIEEEFloat, Bits: 32, Extensible: true},
	}
	for _, l := range layouts {
		for _, channels := range []int{1, 2, 3} {
			l.Channels, l.Rate = channels, 16000
			t.Run(fmt.Sprintf("tag %d %d-bit extensible=%v %d channels", l.Tag, l.Bits, l.Extensible, channels), func(t *testing.T) {
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
				file := wavtest.Encode(l, frames, wavtest.Chunk("LIST", []byte("odd")))
				// Whole, frame by frame, and through a reader that returns
				// one byte at a time.
				for _, chunk := range []int{1024, 1} {
					for _, r := range []io.Reader{bytes.NewReader(file), iotest.OneByteReader(bytes.NewReader(file))} {
						got, f, err := decodeAll(r, chunk)
						if err != nil {
							t.Fatal(err)
						}
						if f != (wav.Format{Tag: l.Tag, Channels: channels, SampleRate: 16000, Bits: l.Bits}) || len(got) != len(want) {
							t.Fatalf("format %+v, %d samples; want %d", f, len(got), len(want))
						}
						if !slices.Equal(got, want) {
							t.Fatalf("samples %v, want %v", got, want)
						}
					}
				}
			})
		}
	}
}

func TestDecoderMalformed(t *testing.T) {
	t.Parallel()
	mono16 := wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 8000}
	good := wavtest.Encode(mono16, [][]float64{{0.5}, {-0.5}})
	patch := func(at int, b ...byte) []byte { return wavtest.Patch(good, at, b...) }
	ext := wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 8000, Extensible: true}, [][]float64{{0.5}})
	patchExt := func(at int, b ...byte) []byte { return wavtest.Patch(ext, at, b...) }
	// good: RIFF header 0-11, fmt chunk 12-35 (body 20-35), data chunk 36-.
	// ext: fmt body 20-59 (extension size 36-37, GUID 44-59), data 60-.
	tests := []struct {
		name   string
		file   []byte
		chunk  string
		offset int64
		want   string
		frames int // decoded before the error
	}{
		{"empty", nil, "RIFF", 0, "file ends after 0 bytes", 0},
		{"not RIFF", patch(0, 'R', 'I', 'F', 'X'), "RIFF", 0, "not a RIFF/WAVE", 0},
		{"not WAVE", patch(8, 'A', 'V', 'I', ' '), "RIFF", 0, "not a RIFF/WAVE", 0},
		{"fmt too short", patch(16, 8), "fmt ", 12, "size 8", 0},
		{"fmt too long", patch(16, 0, 8), "fmt ", 12, "size 2048", 0},
		{"fmt truncated", good[:30], "fmt ", 12, "file ends after 30 bytes", 0},
		{"zero channels", patch(22, 0), "fmt ", 12, "0 channels", 0},
		{"zero rate", patch(24, 0, 0, 0, 0), "fmt ", 12, "sample rate 0", 0},
		{"ADPCM", patch(20, 2), "fmt ", 12, "format tag 0x0002", 0},
		{"12-bit PCM", patch(34, 12), "fmt ", 12, "12 bits", 0},
		{"16-bit float", patch(20, 3), "fmt ", 12, "IEEE float with 16 bits", 0},
		{"bad block align", patch(32, 3), "fmt ", 12, "block align 3", 0},
		{"extensible too short", patchExt(36, 10), "fmt ", 12, "22-byte extension", 0},
		{"extensible unknown GUID", patchExt(50, 0xFF), "fmt ", 12, "unknown WAVE_FORMAT_EXTENSIBLE subformat", 0},
		{"extensible ADPCM", patchExt(44, 2), "fmt ", 12, "format tag 0x0002", 0},
		{"partial frame", patch(40, 3), "data", 36, "whole number", 0},
		{"data truncated", good[:len(good)-1], "data", 36, "ends after 3", 1},
		{"header truncated", good[:40], "chunk header", 36, "inside a chunk header", 0},
		{"no data chunk", good[:36], "data", 36, "no data chunk", 0},
		{"data before fmt", append(bytes.Clone(good[:12]), good[36:]...), "data", 12, "before the fmt chunk", 0},
		{"no fmt chunk", good[:12], "fmt ", 12, "no fmt chunk", 0},
		{"skipped chunk truncated", append(bytes.Clone(good[:12]), 'L', 'I', 'S', 'T', 200, 0, 0, 0, 1), "LIST", 12, "ends early", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := decodeAll(bytes.NewReader(tc.file), 1024)
			var fe *wav.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, wav.ErrMalformed) || errors.Is(err, wav.ErrCutFrame) {
				t.Fatalf("error = %v, want a *FormatError", err)
			}
			msg := err.Error()
			if fe.Chunk != tc.chunk || fe.Offset != tc.offset || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "wav: ") {
				t.Fatalf("error = %q (chunk %q at %d), want chunk %q at %d and %q", msg, fe.Chunk, fe.Offset, tc.chunk, tc.offset, tc.want)
			}
			if len(got) != tc.frames {
				t.Fatalf("%d frames before the error, want %d", len(got), tc.frames)
			}
		})
	}
}

// unknownSize returns file with the data size of a plain 44-byte header
// replaced by wav.UnknownSize.
func unknownSize(file []byte) []byte {
	return wavtest.Patch(file, 40, binary.LittleEndian.AppendUint32(nil, wav.UnknownSize)...)
}

func TestDecoderUnknownSize(t *testing.T) {
	t.Parallel()
	// A streaming encoder that cannot seek writes 0xFFFFFFFF as the data
	// size; the decoder reads to the end of the stream.
	file := unknownSize(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 8000}, [][]float64{{0.5}, {-0.25}}))
	d, err := wav.NewDecoder(bytes.NewReader(file))
	if err != nil || d.Frames() != -1 {
		t.Fatalf("NewDecoder = %v, %d frames", err, d.Frames())
	}
	got, _, err := decodeAll(bytes.NewReader(file), 1)
	if err != nil || len(got) != 2 || got[0] != 0.5 || got[1] != -0.25 {
		t.Fatalf("decoded %v, %v", got, err)
	}

	// Cut inside the second stereo frame: the first frame, then an error
	// that wraps ErrCutFrame.
	cut := unknownSize(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 2, Rate: 8000}, [][]float64{{0.5, 0}, {0.25, 0.25}}))
	cut = cut[:len(cut)-1]
	got, _, err = decodeAll(bytes.NewReader(cut), 1024)
	var fe *wav.FormatError
	if !errors.Is(err, wav.ErrCutFrame) || !errors.Is(err, wav.ErrMalformed) || !errors.As(err, &fe) || fe.Chunk != "data" ||
		!strings.Contains(err.Error(), "inside a 4-byte frame at byte 51") || len(got) != 1 || got[0] != 0.25 {
		t.Fatalf("decoded %v, %v", got, err)
	}
}

// TestDecoderRead checks the io.Reader-like contract of Read: the declared
// frame count, short reads, sticky errors and read errors passed through.
func TestDecoderRead(t *testing.T) {
	t.Parallel()
	frames := make([][]float64, 50000) // more than one internal read of 64 KiB
	for i := range frames {
		frames[i] = []float64{float64(i%256-128) / 128, 0}
	}
	file := wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 2, Rate: 8000}, frames)
	d, err := wav.NewDecoder(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if d.Frames() != 50000 {
		t.Fatalf("Frames() = %d, want 50000", d.Frames())
	}
	if n, err := d.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	p := make([]float32, 60000)
	total := 0
	for {
		n, err := d.Read(p[total:])
		for i := total; i < total+n; i++ {
			if want := float32(frames[i][0] / 2); p[i] != want {
				t.Fatalf("frame %d = %v, want %v", i, p[i], want)
			}
		}
		total += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if total != 50000 {
		t.Fatalf("%d frames, want 50000", total)
	}
	if n, err := d.Read(p); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read after the end = %d, %v", n, err)
	}

	boom := errors.New("boom")
	if _, err := wav.NewDecoder(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("NewDecoder(failing reader) = %v, want the read error", err)
	}
	d, err = wav.NewDecoder(io.MultiReader(bytes.NewReader(file[:44+400]), iotest.ErrReader(boom)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Read(p)
	if n != 100 || !errors.Is(err, boom) {
		t.Fatalf("Read over a failing reader = %d, %v; want 100 frames and the read error", n, err)
	}
	if n, err := d.Read(p); n != 0 || !errors.Is(err, boom) {
		t.Fatalf("Read after an error = %d, %v; want the same error", n, err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 2, Rate: 8000}, [][]float64{{0.5, 0.25}}))
	f.Add(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 24, Channels: 3, Rate: 8000}, [][]float64{{0.5, 0.25, -1}, {0, 0, 0}}, wavtest.Chunk("LIST", []byte("odd"))))
	f.Add(wavtest.Encode(wavtest.Layout{Tag: wav.FormatIEEEFloat, Bits: 32, Channels: 1, Rate: 8000, Extensible: true}, [][]float64{{0.5}}))
	f.Add(unknownSize(wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 8, Channels: 1, Rate: 8000}, [][]float64{{0.5}, {-0.5}, {0}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		whole, format, err := decodeAll(bytes.NewReader(b), 1<<20)
		var fe *wav.FormatError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("error is not a *FormatError: %v", err)
		}
		if err == nil && (format.SampleRate <= 0 || format.Channels <= 0 || len(whole)*format.BlockAlign() > len(b)) {
			t.Fatalf("format %+v, %d frames from %d bytes", format, len(whole), len(b))
		}
		// Reading a frame at a time, a byte at a time, gives the same.
		small, _, err2 := decodeAll(iotest.OneByteReader(bytes.NewReader(b)), 1)
		if fmt.Sprint(err) != fmt.Sprint(err2) || len(small) != len(whole) {
			t.Fatalf("frame by frame: %d frames, %v; whole: %d frames, %v", len(small), err2, len(whole), err)
		}
		for i := range whole {
			if small[i] != whole[i] && !(small[i] != small[i] && whole[i] != whole[i]) { // NaN
				t.Fatalf("frame %d: %v frame by frame, %v whole", i, small[i], whole[i])
			}
		}
	})
}
