package simd

import (
	"math"
	"testing"
)

// TestExpf checks Expf against float64 math.Exp over the softmax range.
func TestExpf(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88.0; x += 0.0013 {
		got := float64(Expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 2e-7 {
		t.Errorf("max relative error %.3g, want <= 2e-7", worst)
	}
	if Expf(-100) != 0 || !math.IsInf(float64(Expf(100)), 1) {
		t.Error("out-of-range inputs")
	}
}

func BenchmarkExpf(b *testing.B) {
	var s float32
	for i := range b.N {
		s += Expf(-float32(i%1000) * 0.01)
	}
	_ = s
}
