package model

import "math"

// The attention kernels. kernels_amd64.go replaces them with AVX2/FMA
// assembly when the processor has it; these portable versions are the
// reference the assembly is tested against.

// scoresRow sets s[j] = Σ_k q[k]·kt[k·u+j] for j < u, where kt holds len(q)
// rows of length u, and returns the largest s[j]. It is a row vector times
// a row-major matrix: one query against one head's transposed keys, or one
// input row through a linear layer's transposed weights.
var scoresRow = scoresRowGeneric

// expShift sets s[j] = count[j]·e^(s[j]−mx) and returns Σ_j s[j].
var expShift = expShiftGeneric

// dotKernel returns Σ_i x[i]·y[i] for len(x) = len(y).
var dotKernel = dotGeneric

// scoresRow2 is scoresRow for two queries at once, sharing the loads of kt.
var scoresRow2 = scoresRow2Generic

func scoresRow2Generic(s0, s1, q0, q1, kt []float32, u int) (float32, float32) {
	return scoresRow(s0, q0, kt, u), scoresRow(s1, q1, kt, u)
}

// weightedRows sets out[k] = Σ_j p[j]·vt[k·u+j] for k < len(out) and
// j < u: one query's attention output for one head, from the weights p
// and the head's transposed values vt.
var weightedRows = weightedRowsGeneric

func weightedRowsGeneric(out, p, vt []float32, u int) {
	for k := range out {
		out[k] = dotKernel(p[:u], vt[k*u:(k+1)*u])
	}
}

func scoresRowGeneric(s, q, kt []float32, u int) float32 {
	clear(s[:u])
	for k, qk := range q {
		row := kt[k*u : (k+1)*u]
		for j, v := range row {
			s[j] += qk * v
		}
	}
	mx := float32(math.Inf(-1))
	for _, v := range s[:u] {
		mx = max(mx, v)
	}
	return mx
}

func expShiftGeneric(s, count []float32, mx float32) float32 {
	var sum float32
	for j := range s {
		s[j] = count[j] * expf(s[j]-mx)
		sum += s[j]
	}
	return sum
}

func dotGeneric(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
