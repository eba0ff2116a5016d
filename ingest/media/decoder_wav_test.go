package media

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/wav"
	"github.com/cmc-stream/cmc-stream/internal/wav/wavtest"
)

// The format tags and the unknown data size, for wavFile and its callers.
const (
	tagPCM      = wav.FormatPCM
	tagFloat    = wav.FormatIEEEFloat
	sizeUnknown = wav.UnknownSize
)

// TestWAVMalformed opens WAV files that internal/wav rejects: a malformed
// header is left to ffmpeg (which decodes what it can), and a file that ends
// before its declared data size fails after the frames before the end.
func TestWAVMalformed(t *testing.T) {
	frames := make([][]float64, 1000)
	for i := range frames {
		frames[i] = []float64{float64(i%200-100) / 128}
	}
	good := wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 16000}, frames)
	write := func(t *testing.T, b []byte) string {
		path := filepath.Join(t.TempDir(), "audio.wav")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("bad block align", func(t *testing.T) {
		bad := wavtest.Patch(good, 32, 4) // fmt block align 4 for 16-bit mono
		s, err := Open(Config{Path: write(t, bad)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Direct() {
			t.Fatal("a WAV file with a wrong block align was decoded directly")
		}
		got := readAll(t, s)
		if len(got) < 990 || len(got) > 1010 {
			t.Fatalf("ffmpeg decoded %d frames, want about 1000", len(got))
		}
	})

	t.Run("truncated", func(t *testing.T) {
		s, err := Open(Config{Path: write(t, good[:len(good)-501]), ChunkFrames: 100})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !s.Direct() {
			t.Fatal("a 16 kHz WAV file went through ffmpeg")
		}
		var all []float32
		for {
			c, err := s.Read(context.Background())
			if err != nil {
				if errors.Is(err, io.EOF) || !errors.Is(err, wav.ErrMalformed) || !strings.HasPrefix(err.Error(), "media: reading ") ||
					!strings.Contains(err.Error(), "ends after 1499 of them") {
					t.Fatalf("Read() = %v, want an error about the truncated data chunk", err)
				}
				break
			}
			all = append(all, c.Samples...)
		}
		if len(all) != 749 {
			t.Fatalf("%d frames before the error, want the 749 whole ones", len(all))
		}
		for i, v := range all {
			if want := float32(frames[i][0]); v != want {
				t.Fatalf("frame %d = %v, want %v", i, v, want)
			}
		}
	})
}
