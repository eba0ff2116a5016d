//go:build cgo && !nopocketsphinx

package asr

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// speech returns the 2.99 s LibriVox clip "he was not an ill disposed young
// man" at 16 kHz, from the librosa goldens (testdata/librosa/README.md).
func speech(t testing.TB) []float32 {
	t.Helper()
	f, err := safetensors.ReadFile("../../testdata/librosa/librosa_shared.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f.Tensors["speech0880_sr16000/y"].Data
}

// TestRecognizeSpeech recognises read speech through the real decoder and
// checks the text against the clip's transcript and the word times
// against the clip.
func TestRecognizeSpeech(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := speech(t)
	res, err := r.Recognize(ToPCM16(x))
	if err != nil {
		t.Fatal(err)
	}
	// Measured with Debian's en-us model: "he was not until this blows
	// young man", 3 errors in 8 words (an ill disposed -> until this
	// blows); the bound is that figure, so a worse decoder set-up fails.
	ref := Words("He was not an ill disposed young man")
	if d := EditDistance(ref, Words(res.Text)); d > 3 {
		t.Errorf("recognised %q: %d word errors against %q, want at most 3", res.Text, d, ref)
	}
	if len(res.Words) != len(Words(res.Text)) {
		t.Fatalf("%d word times for %q", len(res.Words), res.Text)
	}
	dur := time.Duration(len(x)) * time.Second / SampleRate
	var last time.Duration
	for _, w := range res.Words {
		if w.Start < last || w.End <= w.Start || w.End > dur+10*time.Millisecond {
			t.Errorf("word %+v out of order or outside the %v clip", w, dur)
		}
		last = w.End
	}
	// The decoder is reusable: the same input gives the same result.
	again, err := r.Recognize(ToPCM16(x))
	if err != nil || again.Text != res.Text {
		t.Errorf("second decode %q, %v; first %q", again.Text, err, res.Text)
	}
}

func TestRecognizeSilenceAndEmpty(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, pcm := range [][]int16{nil, make([]int16, SampleRate)} {
		res, err := r.Recognize(pcm)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Words) != 0 {
			t.Errorf("%d samples of silence recognised as %q", len(pcm), res.Text)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Recognize(nil); err == nil {
		t.Error("closed recognizer decoded")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Lang: "zh"}); !errors.Is(err, ErrLanguage) {
		t.Errorf("New(zh) = %v, want ErrLanguage", err)
	}
	if _, err := New(Config{ModelDir: t.TempDir()}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New(empty model dir) = %v, want a missing-file error", err)
	}
}

func BenchmarkRecognize(b *testing.B) {
	r, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	pcm := ToPCM16(speech(b))
	b.SetBytes(int64(2 * len(pcm)))
	for range b.N {
		if _, err := r.Recognize(pcm); err != nil {
			b.Fatal(err)
		}
	}
}
