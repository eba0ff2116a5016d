package vad

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

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

func meanProb(t *testing.T, d *Detector, x []float32) float64 {
	t.Helper()
	d.Reset()
	var sum float64
	n := 0
	for i := 0; i+ChunkSize <= len(x); i += ChunkSize {
		p, err := d.Prob(x[i : i+ChunkSize])
		if err != nil {
			t.Fatal(err)
		}
		if p < 0 || p > 1 {
			t.Fatalf("probability %v outside [0,1]", p)
		}
		sum += float64(p)
		n++
	}
	return sum / float64(n)
}

// TestDetector checks the model through real ONNX Runtime: read speech
// scores high, silence and quiet noise score low.
func TestDetector(t *testing.T) {
	d, err := Open(filepath.Join(testNative.AssetsDir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	noise := make([]float32, 16000)
	for i := range noise {
		noise[i] = float32(0.003 * rng.NormFloat64())
	}
	sp := speech(t)
	for _, c := range []struct {
		name     string
		x        []float32
		lo, high float64
	}{
		{"speech", sp, 0.5, 1},
		{"silence", make([]float32, 16000), 0, 0.1},
		{"quiet noise", noise, 0, 0.1},
	} {
		if p := meanProb(t, d, c.x); p < c.lo || p > c.high || math.IsNaN(p) {
			t.Errorf("%s: mean speech probability %.3f, want in [%.1f, %.1f]", c.name, p, c.lo, c.high)
		}
	}
	if _, err := d.Prob(make([]float32, 100)); err == nil {
		t.Error("short chunk accepted")
	}
}

func BenchmarkProb(b *testing.B) {
	d, err := Open(filepath.Join(testNative.AssetsDir, ModelFile))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	chunk := make([]float32, ChunkSize)
	for i := range chunk {
		chunk[i] = float32(math.Sin(float64(i) * 0.1))
	}
	for range b.N {
		if _, err := d.Prob(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenNeedsPath: the package does not look for its model; an empty
// path is an error.
func TestOpenNeedsPath(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("empty model path accepted")
	}
}
