package simd

import "math"

// Expf returns e^x in float32 with a relative error below 2e-7 over the
// range where the result is a normal float32. It is the range reduction
// x = n·ln2 + r with a degree-6 polynomial for e^r, after the single
// precision exponential of the Cephes library (S. L. Moshier, "Methods and
// Programs for Mathematical Functions", 1989: constants C1, C2 and the
// polynomial coefficients below). math.Exp in float64 costs several times
// more, and the attention softmax evaluates e^x L² times per head.
func Expf(x float32) float32 {
	const (
		maxArg = 88.72283905206835  // ln(MaxFloat32)
		minArg = -87.33654475055310 // ln(SmallestNormalFloat32)
		log2e  = 1.44269504088896341
		c1     = 0.693359375
		c2     = -2.12194440e-4
	)
	if x > maxArg {
		return float32(math.Inf(1))
	}
	if x < minArg {
		return 0
	}
	fx := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - fx*c1 - fx*c2
	z := r * r
	y := ((((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+
		4.1665795894e-2)*r+1.6666665459e-1)*r+5.0000001201e-1)*z + r + 1)
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}
