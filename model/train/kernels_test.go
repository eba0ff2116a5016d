package train

import (
	"math"
	"testing"
)

func TestDropoutMask(t *testing.T) {
	for _, p := range []float64{0.1, 0.5} {
		d := newDropout(p)
		m := make([]float32, 100001)
		for i := range m {
			m[i] = 1
		}
		var scratch []uint16
		d.apply(m, 42, &scratch)
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
		// apply generates the stream in chunks; the draws of one call
		// must give the same mask.
		u := make([]uint16, len(m))
		d.draws(u, 42)
		for i := range m {
			if (u[i] < d.thresh) != (m[i] == 0) {
				t.Fatalf("p=%v: stream 42 differs at %d", p, i)
			}
		}
	}
	if newDropout(0).active() {
		t.Error("p=0 is active")
	}
}
