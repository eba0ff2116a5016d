package train

import (
	"math"
	"testing"
)

// TestExpf checks expf against math.Exp over the whole input range it
// serves (x ≤ 0 down to the smallest normal float32), including both
// ends of the reduction intervals.
func TestExpf(t *testing.T) {
	for _, tc := range []struct {
		name       string
		from, step float64
		n          int
	}{
		{"near-zero", 0, -1e-6, 200000},
		{"unit", 0, -1e-4, 200000},
		{"full-range", 0, -8.7e-4, 100000},
		{"ln2-multiples", -math.Ln2 / 128, -math.Ln2 / 64, 8000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.n {
				x := float32(tc.from + float64(i)*tc.step)
				got, want := float64(expf(x)), math.Exp(float64(x))
				if want < 1.2e-38 {
					break
				}
				if r := math.Abs(got-want) / want; r > 3e-7 {
					t.Fatalf("expf(%v) = %v, want %v (relative error %.2g)", x, got, want, r)
				}
			}
		})
	}
	if got := expf(-100); got != 0 {
		t.Errorf("expf(-100) = %v, want 0", got)
	}
}

// TestDropoutMask checks the keep rate and the scale of the dropout masks
// and that a stream is reproducible.
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

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 1024)
	for i := range x {
		x[i] = -float32(i) * 0.01
	}
	var s float32
	cpu := cpuSeconds()
	for b.Loop() {
		for _, v := range x {
			s += expf(v)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N)/float64(len(x))*1e9, "cpu-ns/exp")
	if s == 0 {
		b.Fatal("no result")
	}
}
