package train

import (
	"math"

	"github.com/cmc-stream/cmc-stream/internal/simd"
	"github.com/cmc-stream/cmc-stream/model"
)

// Dropout site numbers inside an encoder layer, part of the dropout stream
// keys.
const (
	siteAttn = iota + 1
	siteResidual1
	siteFFN
	siteResidual2
)

// layerCache holds what the backward pass of one encoder layer needs, for
// all rows of a worker's samples.
type layerCache struct {
	x, t1, qkv, a, x2, t2, f []float32
	mu1, rs1, mu2, rs2       []float32
	// probs are the unnormalised attention weights before dropout, each
	// query row followed by its 1/Σ, [sample, head, query, key+1]; kept
	// when the Engine's budget allows, otherwise the backward pass
	// recomputes them.
	probs []float32
}

// branchWork runs one branch in train mode for the samples [lo,hi) of a
// batch: the forward pass with its caches and the backward pass.
type branchWork struct {
	lo, hi, seqLen, dim int
	keepProbs           bool      // keep the attention probabilities for the backward pass
	xn                  []float32 // branch input after BatchNorm [R,D] (aliases the text input)
	layers              []layerCache
	out                 []float32 // encoder output [R,E]
	mean                []float32 // mean-pooled [n,E]
	norm                []float32 // ‖mean‖ per sample

	// scratch
	tmp, dh, dt, dqkv, da, df, dm []float32
	att                           attnScratch
	lin                           linearScratch
}

// attnScratch holds the per-head buffers of the attention kernels.
type attnScratch struct {
	kt, vt, dkt, dvt []float32 // [dh, L]
	s, dp            []float32 // [queryBlock, L]
	q                []float32 // scaled queries [queryBlock, dh]
	draws            []uint16  // dropout draws: one row's [L], or dropout.apply's scratch
	// cq and co are addKV's per-column coefficients, kept here because
	// locals passed to simd.Axpy4 by pointer escape to the heap.
	cq, co [queryBlock]float32
}

// queryBlock is the number of query rows whose key and value gradients
// the backward pass adds in one sweep over dK and dV (simd.Axpy4).
const queryBlock = 4

// forward encodes samples [lo,hi): x are the branch input rows after
// BatchNorm. It writes the unit embeddings to emb [(hi−lo),E].
func (w *branchWork) forward(br *model.Branch, heads int, drop dropout, key uint64, emb []float32) {
	r := (w.hi - w.lo) * w.seqLen
	e := br.Proj.Out
	if len(w.layers) != len(br.Layers) {
		w.layers = make([]layerCache, len(br.Layers))
	}
	h := grow(w.out, r*e)
	w.out = h
	if len(br.Layers) > 0 {
		c := &w.layers[0]
		c.x = grow(c.x, r*e)
		h = c.x
	}
	w.lin.forward(h, w.xn, r, &br.Proj)
	for li := range br.Layers {
		next := w.out
		if li+1 < len(br.Layers) {
			nc := &w.layers[li+1]
			nc.x = grow(nc.x, r*e)
			next = nc.x
		}
		w.layerForward(&br.Layers[li], &w.layers[li], next, r, e, heads, drop, streamKey(key, uint64(li)))
	}
	n := w.hi - w.lo
	w.mean, w.norm = grow(w.mean, n*e), grow(w.norm, n)
	for b := range n {
		m := w.mean[b*e : (b+1)*e]
		clear(m)
		for t := range w.seqLen {
			row := w.out[(b*w.seqLen+t)*e:]
			for j := range m {
				m[j] += row[j]
			}
		}
		var ss float64
		for j := range m {
			m[j] /= float32(w.seqLen)
			ss += float64(m[j]) * float64(m[j])
		}
		nrm := math.Sqrt(ss)
		w.norm[b] = float32(nrm)
		inv := float32(1 / math.Max(nrm, l2NormEps))
		out := emb[b*e : (b+1)*e]
		for j := range m {
			out[j] = m[j] * inv
		}
	}
}

// layerForward applies one pre-LN encoder layer (cmc-model.md §2.4) to the
// rows c.x and writes the result to next.
func (w *branchWork) layerForward(l *model.EncoderLayer, c *layerCache, next []float32, r, e, heads int, drop dropout, key uint64) {
	ff := l.Linear1.Out
	c.t1, c.qkv, c.a = grow(c.t1, r*e), grow(c.qkv, r*3*e), grow(c.a, r*e)
	c.x2, c.t2, c.f = grow(c.x2, r*e), grow(c.t2, r*e), grow(c.f, r*ff)
	c.mu1, c.rs1, c.mu2, c.rs2 = grow(c.mu1, r), grow(c.rs1, r), grow(c.mu2, r), grow(c.rs2, r)
	layerNormForward(c.t1, c.x, c.mu1, c.rs1, r, e, &l.Norm1)
	w.lin.forward(c.qkv, c.t1, r, &l.InProj)
	L := w.seqLen
	per := heads * L * (L + 1)
	if w.keepProbs {
		c.probs = grow(c.probs, (w.hi-w.lo)*per)
	} else {
		c.probs = nil
	}
	for b := range w.hi - w.lo {
		var store []float32
		if c.probs != nil {
			store = c.probs[b*per : (b+1)*per]
		}
		w.att.forward(c.qkv[b*L*3*e:(b+1)*L*3*e], c.a[b*L*e:(b+1)*L*e], L, e, heads, drop,
			streamKey(key, siteAttn, uint64(w.lo+b)), store)
	}
	w.tmp = grow(w.tmp, r*ff)
	y := w.tmp[:r*e]
	w.lin.forward(y, c.a, r, &l.OutProj)
	w.residual(c.x2, c.x, y, e, drop, streamKey(key, siteResidual1))
	layerNormForward(c.t2, c.x2, c.mu2, c.rs2, r, e, &l.Norm2)
	w.lin.forward(c.f, c.t2, r, &l.Linear1)
	act := w.tmp[:r*ff]
	copy(act, c.f)
	for i, v := range act {
		act[i] = max(v, 0)
	}
	w.applyDrop(act, ff, drop, streamKey(key, siteFFN))
	y2 := grow(w.dt, r*e)
	w.dt = y2
	w.lin.forward(y2, act, r, &l.Linear2)
	w.residual(next, c.x2, y2, e, drop, streamKey(key, siteResidual2))
}

// applyDrop multiplies the rows of v (width n per position) by each
// sample's dropout mask.
func (w *branchWork) applyDrop(v []float32, n int, drop dropout, key uint64) {
	if !drop.active() {
		return
	}
	per := w.seqLen * n
	for b := range w.hi - w.lo {
		drop.apply(v[b*per:(b+1)*per], streamKey(key, uint64(w.lo+b)), &w.att.draws)
	}
}

// residual writes dst = x + Dropout(y) (y is overwritten).
func (w *branchWork) residual(dst, x, y []float32, e int, drop dropout, key uint64) {
	w.applyDrop(y, e, drop, key)
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// backward propagates the embedding gradients demb [(hi−lo),E] through the
// branch, accumulating parameter gradients into g, and returns the gradient
// with respect to the branch input rows (the BatchNorm output) in w.tmp.
func (w *branchWork) backward(br, g *model.Branch, heads int, drop dropout, key uint64, emb, demb []float32, needInput bool) []float32 {
	n := w.hi - w.lo
	e := br.Proj.Out
	L := w.seqLen
	r := n * L
	w.dh = grow(w.dh, r*e)
	// L2 normalisation and mean pooling.
	for b := range n {
		h, dhb := emb[b*e:(b+1)*e], demb[b*e:(b+1)*e]
		w.dm = grow(w.dm, e)
		dm := w.dm
		nrm := w.norm[b]
		if float64(nrm) > l2NormEps {
			d := dot(h, dhb)
			for j := range e {
				dm[j] = (dhb[j] - h[j]*d) / nrm
			}
		} else {
			for j := range e {
				dm[j] = dhb[j] / l2NormEps
			}
		}
		for t := range L {
			row := w.dh[(b*L+t)*e : (b*L+t+1)*e]
			for j := range row {
				row[j] = dm[j] / float32(L)
			}
		}
	}
	for li := len(br.Layers) - 1; li >= 0; li-- {
		w.layerBackward(&br.Layers[li], &g.Layers[li], &w.layers[li], r, e, heads, drop, streamKey(key, uint64(li)))
	}
	var dx []float32
	if needInput {
		w.tmp = grow(w.tmp, r*w.dim)
		dx = w.tmp[:r*w.dim]
	}
	w.lin.backward(dx, w.dh, w.xn, r, &br.Proj, &g.Proj, false)
	return dx
}

// layerBackward replaces w.dh (gradient at the layer output) by the
// gradient at the layer input.
func (w *branchWork) layerBackward(l, g *model.EncoderLayer, c *layerCache, r, e, heads int, drop dropout, key uint64) {
	ff := l.Linear1.Out
	L := w.seqLen
	// FFN block: x3 = x2 + Drop(Lin2(Drop(ReLU(Lin1(LN2(x2)))))).
	dy := grow(w.dt, r*e)
	w.dt = dy
	copy(dy, w.dh)
	w.applyDrop(dy, e, drop, streamKey(key, siteResidual2))
	act := grow(w.tmp, r*ff)
	w.tmp = act
	for i, v := range c.f {
		act[i] = max(v, 0)
	}
	w.applyDrop(act, ff, drop, streamKey(key, siteFFN))
	w.df = grow(w.df, r*ff)
	w.lin.backward(w.df, dy, act, r, &l.Linear2, &g.Linear2, false)
	w.applyDrop(w.df, ff, drop, streamKey(key, siteFFN))
	for i, v := range c.f {
		if v <= 0 {
			w.df[i] = 0
		}
	}
	w.lin.backward(dy, w.df, c.t2, r, &l.Linear1, &g.Linear1, false)
	layerNormBackward(w.dh, dy, c.x2, c.mu2, c.rs2, r, e, &l.Norm2, &g.Norm2)

	// Attention block: x2 = x + Drop(OutProj(MHA(LN1(x)))).
	copy(dy, w.dh)
	w.applyDrop(dy, e, drop, streamKey(key, siteResidual1))
	w.da = grow(w.da, r*e)
	w.lin.backward(w.da, dy, c.a, r, &l.OutProj, &g.OutProj, false)
	w.dqkv = grow(w.dqkv, r*3*e)
	per := heads * L * (L + 1)
	for b := range w.hi - w.lo {
		var store []float32
		if c.probs != nil {
			store = c.probs[b*per : (b+1)*per]
		}
		w.att.backward(c.qkv[b*L*3*e:(b+1)*L*3*e], w.da[b*L*e:(b+1)*L*e], w.dqkv[b*L*3*e:(b+1)*L*3*e],
			L, e, heads, drop, streamKey(key, siteAttn, uint64(w.lo+b)), store)
	}
	w.lin.backward(dy, w.dqkv, c.t1, r, &l.InProj, &g.InProj, false)
	layerNormBackward(w.dh, dy, c.x, c.mu1, c.rs1, r, e, &l.Norm1, &g.Norm1)
}

// transposeHead copies one head's keys and values of a sample ([L,3E]
// rows) into kt and vt ([dh,L]).
func (a *attnScratch) transposeHead(qkv []float32, L, e, dh, h int) {
	for j := range L {
		row := qkv[j*3*e:]
		for k := range dh {
			a.kt[k*L+j] = row[e+h*dh+k]
			a.vt[k*L+j] = row[2*e+h*dh+k]
		}
	}
}

// scores computes the unnormalised attention weights e_j = exp(s_j − max)
// of query row q (already scaled) against the keys in a.kt into s and
// returns 1/Σ e_j.
func (a *attnScratch) scores(s, q []float32, L int) float32 {
	mx := simd.ScoresRow(s, q, a.kt, L)
	return 1 / simd.ExpSub(s[:L], mx)
}

// forward computes multi-head self-attention (before the output
// projection) for one sample: qkv [L,3E] to out [L,E]. With dropout, the
// probabilities of query row i in head h are masked by the stream
// (key, h, i). When store is not nil ([heads,L,L+1]) it receives each
// row's unnormalised weights and their 1/Σ.
func (a *attnScratch) forward(qkv, out []float32, L, e, heads int, drop dropout, key uint64, store []float32) {
	dh := e / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	a.kt, a.vt = grow(a.kt, dh*L), grow(a.vt, dh*L)
	a.s, a.q = grow(a.s, L), grow(a.q, dh)
	s, q := a.s[:L], a.q[:dh]
	for h := range heads {
		a.transposeHead(qkv, L, e, dh, h)
		for i := range L {
			for k := range dh {
				q[k] = qkv[i*3*e+h*dh+k] * scale
			}
			inv := a.scores(s, q, L)
			if store != nil {
				row := store[(h*L+i)*(L+1) : (h*L+i+1)*(L+1)]
				copy(row, s)
				row[L] = inv
			}
			if drop.active() {
				drop.apply(s, streamKey(key, uint64(h), uint64(i)), &a.draws)
			}
			o := out[i*e+h*dh : i*e+(h+1)*dh]
			simd.WeightedRows(o, s, a.vt, L)
			for k := range o {
				o[k] *= inv
			}
		}
	}
}

// backward computes dqkv [L,3E] of one sample from the gradient dout [L,E]
// of the attention output. It takes the probabilities from store when not
// nil and recomputes them otherwise; it regenerates the dropout masks.
// Query rows are taken queryBlock at a time, so that one sweep over the
// transposed key and value gradients adds the rank-one updates of all of
// them.
func (a *attnScratch) backward(qkv, dout, dqkv []float32, L, e, heads int, drop dropout, key uint64, store []float32) {
	dh := e / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	a.kt, a.vt = grow(a.kt, dh*L), grow(a.vt, dh*L)
	a.dkt, a.dvt = grow(a.dkt, dh*L), grow(a.dvt, dh*L)
	a.s, a.dp, a.q = grow(a.s, queryBlock*L), grow(a.dp, queryBlock*L), grow(a.q, queryBlock*dh)
	var draws []uint16
	if drop.active() {
		if cap(a.draws) < L {
			a.draws = make([]uint16, max(L, dropChunk))
		}
		draws = a.draws[:L]
	}
	for h := range heads {
		a.transposeHead(qkv, L, e, dh, h)
		clear(a.dkt)
		clear(a.dvt)
		for i0 := 0; i0 < L; i0 += queryBlock {
			n := min(queryBlock, L-i0)
			for t := range n {
				i := i0 + t
				q, s, dp := a.q[t*dh:(t+1)*dh], a.s[t*L:(t+1)*L], a.dp[t*L:(t+1)*L]
				for k := range dh {
					q[k] = qkv[i*3*e+h*dh+k] * scale
				}
				// ev = e_j with p_j = e_j·inv
				var inv float32
				ev := s
				if store != nil {
					row := store[(h*L+i)*(L+1) : (h*L+i+1)*(L+1)]
					ev, inv = row[:L], row[L]
				} else {
					inv = a.scores(s, q, L)
				}
				// dp_j = ∂/∂(dropped p_j); SoftmaxGrad turns it into ∂/∂s_j
				// and s into the dropped probabilities p_j·m_j for dV.
				do := dout[i*e+h*dh : i*e+(h+1)*dh]
				simd.ScoresRow(dp, do, a.vt, L)
				if draws != nil {
					drop.draws(draws, streamKey(key, uint64(h), uint64(i)))
				}
				simd.SoftmaxGrad(dp, s, ev, inv, draws, drop.thresh, drop.scale)
				dq := dqkv[i*3*e+h*dh : i*3*e+(h+1)*dh]
				simd.WeightedRows(dq, dp, a.kt, L)
				for k := range dh {
					dq[k] *= scale
				}
			}
			a.addKV(dout, i0, n, L, e, dh, h)
		}
		for j := range L {
			row := dqkv[j*3*e:]
			for k := range dh {
				row[e+h*dh+k] = a.dkt[k*L+j]
				row[2*e+h*dh+k] = a.dvt[k*L+j]
			}
		}
	}
}

// addKV adds the key and value gradients of the n query rows from i0
// (their scaled queries in a.q, score gradients in a.dp, dropped
// probabilities in a.s) to a.dkt and a.dvt: dK += dSᵀ·Q, dV += Pᵀ·dO.
func (a *attnScratch) addKV(dout []float32, i0, n, L, e, dh, h int) {
	if n < queryBlock {
		for t := range n {
			do := dout[(i0+t)*e+h*dh:]
			for k := range dh {
				simd.Axpy(a.q[t*dh+k], a.dp[t*L:(t+1)*L], a.dkt[k*L:(k+1)*L])
				simd.Axpy(do[k], a.s[t*L:(t+1)*L], a.dvt[k*L:(k+1)*L])
			}
		}
		return
	}
	cq, co := &a.cq, &a.co
	for k := range dh {
		for t := range queryBlock {
			cq[t], co[t] = a.q[t*dh+k], dout[(i0+t)*e+h*dh+k]
		}
		simd.Axpy4(a.dkt[k*L:(k+1)*L], cq, a.dp, L)
		simd.Axpy4(a.dvt[k*L:(k+1)*L], co, a.s, L)
	}
}
