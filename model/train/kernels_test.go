package train

import (
	"math"
	"testing"
)

func TestDropoutMask(t *testing.T) {
	for _, p := range []float64{0.1, 0.5} {
		d := newDropout(p)
		m := make([]float32, 100001)
		d.mask(m, 42)
		kept := 0
		for _, v := range m {
			switch v {
			case 0:
			case newDropout(p).scale:
				kept++
			default:
				t.Fatalf("p=%v: multiplier %v", p, v)
			}
		}
		// Binomial standard deviation √(n p (1−p)) ≤ 160; allow 5σ.
		if want := (1 - p) * float64(len(m)); math.Abs(float64(kept)-want) > 800 {
			t.Errorf("p=%v: kept %d of %d, want about %.0f", p, kept, len(m), want)
		}
		again := make([]float32, len(m))
		d.mask(again, 42)
		for i := range m {
			if m[i] != again[i] {
				t.Fatalf("p=%v: stream 42 differs at %d", p, i)
			}
		}
	}
	if newDropout(0).active() {
		t.Error("p=0 is active")
	}
}
