//go:build !noasm

package simd

// Assembly in simd_avx512_amd64.s. Each processes whole blocks of 16
// floats and, where it takes a tail, the last partial block under a mask;
// the other Go wrappers pass the rest to the AVX2 kernels.

//go:noescape
func scoresBlocksAVX512(s, q, kt *float32, blocks, u, dh, tail int) float32

//go:noescape
func scores2BlocksAVX512(s0, s1, q0, q1, kt *float32, blocks, u, dh, tail int) (mx0, mx1 float32)

//go:noescape
func expWeight8BlocksAVX512(out, s, count, vt *float32, blocks, u, tail int, mx float32) float32

//go:noescape
func expSubBlocksAVX512(s *float32, blocks int, mx float32) float32

// expSubAVX512 is ExpSub: whole blocks of 16 here, the rest by expSubAVX2.
func expSubAVX512(s []float32, mx float32) float32 {
	return expSubBlocks(s, mx, 16, expSubBlocksAVX512, expSubAVX2)
}

func scoresRowAVX512(s, q, kt []float32, u int) float32 {
	dh := len(q)
	if u == 0 || dh == 0 {
		return scoresRowGeneric(s, q, kt, u)
	}
	_ = kt[dh*u-1] // bounds check for the assembly
	_ = s[u-1]
	return scoresBlocksAVX512(&s[0], &q[0], &kt[0], u/16, u, dh, u%16)
}

func scoresRow2AVX512(s0, s1, q0, q1, kt []float32, u int) (float32, float32) {
	dh := len(q0)
	if u == 0 || dh == 0 {
		return scoresRow2Generic(s0, s1, q0, q1, kt, u)
	}
	_ = kt[dh*u-1] // bounds checks for the assembly
	_, _, _ = s0[u-1], s1[u-1], q1[dh-1]
	return scores2BlocksAVX512(&s0[0], &s1[0], &q0[0], &q1[0], &kt[0], u/16, u, dh, u%16)
}

// expWeightedAVX512 runs the fused kernel on the first eight rows of vt
// (all columns, the tail under a mask); further rows use the weights it
// stores back to s.
func expWeightedAVX512(out, s, count, vt []float32, mx float32) float32 {
	u := len(s)
	if len(out) < 8 || u < 16 {
		return expWeightedGeneric(out, s, count, vt, mx)
	}
	_ = vt[8*u-1] // bounds checks for the assembly
	_, _ = count[u-1], out[7]
	sum := expWeight8BlocksAVX512(&out[0], &s[0], &count[0], &vt[0], u/16, u, u%16, mx)
	if len(out) > 8 {
		weightedRows(out[8:], s, vt[8*u:], u)
	}
	return sum
}

//go:noescape
func linearRows4AVX512(dst, x, wt, bias *float32, in, out, pairs, flags int)

// linearRowsAVX512 runs the four-row kernel where the width allows (a
// multiple of 32 columns) and the portable finish on the other rows.
func linearRowsAVX512(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode) {
	r := 0
	if out%32 == 0 && in > 0 && rows > 0 {
		_ = wt[in*out-1] // bounds checks for the assembly
		flags, b := 0, &dst[0]
		switch mode {
		case Accumulate:
			flags = 1
		case Rectify:
			flags = 2
		}
		if bias != nil {
			flags |= 4
			_ = bias[out-1]
			b = &bias[0]
		}
		for ; r+4 <= rows; r += 4 {
			_, _ = x[(r+4)*in-1], dst[(r+4)*out-1]
			linearRows4AVX512(&dst[r*out], &x[r*in], &wt[0], b, in, out, out/32, flags)
		}
	}
	linearRowsGeneric(dst[r*out:], x[r*in:], wt, bias, scratch, rows-r, in, out, mode)
}

//go:noescape
func dot4AVX512(out, p, vt *float32, u, blocks, tail int)

//go:noescape
func axpyAVX512(a float32, x, y *float32, blocks, tail int)

func weightedRowsAVX512(out, p, vt []float32, u int) {
	if u == 0 {
		clear(out)
		return
	}
	_ = p[u-1]
	k := 0
	for ; k+4 <= len(out); k += 4 {
		_ = vt[(k+4)*u-1] // bounds check for the assembly
		dot4AVX512(&out[k], &p[0], &vt[k*u], u, u/16, u%16)
	}
	for ; k < len(out); k++ {
		out[k] = dotAVX2(p[:u], vt[k*u:(k+1)*u])
	}
}

func axpyAVX512Slices(a float32, x, y []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	_ = y[n-1] // bounds check for the assembly
	axpyAVX512(a, &x[0], &y[0], n/16, n%16)
}

//go:noescape
func dropScaleAVX512(v *float32, draws *uint16, blocks int, thresh uint32, scale float32)

//go:noescape
func softmaxGradDotAVX512(dp, e *float32, draws *uint16, blocks int, thresh uint32, scale float32) float32

//go:noescape
func softmaxGradUpdateAVX512(dp, s, e *float32, draws *uint16, blocks int, thresh uint32, scale, inv, c float32)

//go:noescape
func axpy4AVX512(y, a, x *float32, u, blocks, tail int)

func dropScaleAVX512Slices(v []float32, draws []uint16, thresh uint16, scale float32) {
	n := len(v)
	blocks := n / 16
	if blocks > 0 {
		_ = draws[blocks*16-1] // bounds check for the assembly
		dropScaleAVX512(&v[0], &draws[0], blocks, uint32(thresh), scale)
	}
	dropScaleGeneric(v[blocks*16:], draws[blocks*16:n], thresh, scale)
}

// softmaxGradAVX512 runs the two passes of SoftmaxGrad on whole blocks of
// 16 in assembly and the last partial block in Go.
func softmaxGradAVX512(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32) {
	n := len(e)
	blocks := n / 16
	if blocks == 0 {
		softmaxGradGeneric(dp, s, e, inv, draws, thresh, scale)
		return
	}
	dp, s = dp[:n], s[:n] // bounds checks for the assembly
	var d *uint16
	if draws != nil {
		_ = draws[n-1]
		d = &draws[0]
	}
	tail := blocks * 16
	c := softmaxGradDotAVX512(&dp[0], &e[0], d, blocks, uint32(thresh), scale)
	if draws != nil {
		dropScaleGeneric(dp[tail:], draws[tail:n], thresh, scale)
	}
	c = (c + dotGeneric(dp[tail:], e[tail:])) * inv
	softmaxGradUpdateAVX512(&dp[0], &s[0], &e[0], d, blocks, uint32(thresh), scale, inv, c)
	for j := tail; j < n; j++ {
		p := e[j] * inv
		dp[j] = p * (dp[j] - c)
		s[j] = p
	}
	if draws != nil {
		dropScaleGeneric(s[tail:], draws[tail:n], thresh, scale)
	}
}

func axpy4AVX512Slices(y []float32, a *[4]float32, x []float32, u int) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = x[3*u+n-1] // bounds check for the assembly
	axpy4AVX512(&y[0], &a[0], &x[0], u, n/16, n%16)
}

//go:noescape
func wyrandBlocksAVX512(u *uint16, state uint64, blocks int, offsets *[9]uint64)

// wyrandOffsets are the state offsets of the eight lanes of a block of
// wyrandBlocksAVX512, then the offset of the next block.
var wyrandOffsets = func() (o [9]uint64) {
	for k := range 8 {
		o[k] = uint64(k+1) * wyrandInc
	}
	o[8] = o[7]
	return o
}()

func wyrandDrawsAVX512(u []uint16, state uint64) uint64 {
	blocks := len(u) / 32
	if blocks > 0 {
		wyrandBlocksAVX512(&u[0], state, blocks, &wyrandOffsets)
		state += uint64(blocks*8) * wyrandInc
	}
	return wyrandDrawsGeneric(u[blocks*32:], state)
}
