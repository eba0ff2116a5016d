package model

import (
	"fmt"
	"math"
	"sync"

	"github.com/cmc-stream/cmc-stream/internal/simd"
)

// Eps values of the reference layers (PyTorch defaults, cmc-model.md §2).
const (
	layerNormEps = 1e-5
	batchNormEps = 1e-5
	l2NormEps    = 1e-12
)

// Sequence is a batch of feature sequences of shape [Batch, Len, Dim] in
// row-major order.
type Sequence struct {
	Batch, Len, Dim int
	Data            []float32
}

// Input is one batch of features, indexed by Modality.
type Input [Experts]Sequence

// Output holds the model's outputs for one batch. Slices are [Batch, n] in
// row-major order; Forward grows them as needed and reuses them otherwise.
type Output struct {
	Batch int
	// Logits are the fused logits [B,3].
	Logits []float32
	// ExpertLogits are each modality expert's logits [B,3], by Modality.
	ExpertLogits [Experts][]float32
	// Router are the MCR gate weights g [B,3].
	Router []float32
	// Similarity is the PFM cosine matrix S [B,3,3].
	Similarity []float32
	// Embeddings are the unit embeddings h_t, h_a, h_v [B,E], by Modality.
	Embeddings [Experts][]float32
}

// Options tunes an Inferencer.
type Options struct {
	// Plain disables the padding shortcut: every padded row is computed.
	// The shortcut is exact (see Inferencer); Plain exists to prove it.
	Plain bool
	// Threads is the number of goroutines that share a batch; 0 means 1.
	Threads int
}

// Inferencer runs the CMC forward pass in inference mode (no dropout,
// BatchNorm with running statistics) in pure Go, float32.
//
// Padding shortcut: the encoders have no mask and no positional encoding,
// so all-zero input rows (the zero padding of MMSA data and of live windows)
// stay identical rows through every layer. The Inferencer computes such a
// row once and weights it by its count in the attention softmax and the mean
// pool, which is exact and turns the cost from (n+p)² into about (n+1)².
//
// An Inferencer reuses its buffers between calls and is not safe for
// concurrent use; create one per goroutine.
type Inferencer struct {
	model *Model
	opts  Options
	ws    workspace
	heads []headScratch // one per thread
	// wt holds each Linear's weights transposed to [In, Out], the layout of
	// the row-times-matrix kernel.
	wt map[*Linear][]float32
}

// NewInferencer returns an Inferencer for m. m must not change while the
// Inferencer is in use.
func NewInferencer(m *Model, opts Options) *Inferencer {
	if opts.Threads < 1 {
		opts.Threads = 1
	}
	in := &Inferencer{model: m, opts: opts, heads: make([]headScratch, opts.Threads), wt: map[*Linear][]float32{}}
	w := m.Weights
	for mod := range w.Branches {
		br := &w.Branches[mod]
		in.transpose(&br.Proj)
		for i := range br.Layers {
			l := &br.Layers[i]
			for _, lin := range []*Linear{&l.InProj, &l.OutProj, &l.Linear1, &l.Linear2} {
				in.transpose(lin)
			}
		}
	}
	return in
}

func (in *Inferencer) transpose(l *Linear) {
	t := make([]float32, l.In*l.Out)
	for o := range l.Out {
		for i := range l.In {
			t[i*l.Out+o] = l.Weight[o*l.In+i]
		}
	}
	in.wt[l] = t
}

// CheckInput validates a batch against the model's configuration: present
// tensors, equal batch sizes, feature dims, lengths no longer than the
// model's, finite values. The error names the tensor and the expected shape.
func (m *Model) CheckInput(x *Input) error {
	batch := x[Text].Batch
	for _, mod := range Modalities {
		s := &x[mod]
		want := fmt.Sprintf("[B,<=%d,%d]", m.Config.Lengths.Get(mod), m.Config.Dims.Get(mod))
		switch {
		case s.Batch != batch:
			return fmt.Errorf("model: input %q: batch %d, but %q has batch %d", mod, s.Batch, Text, batch)
		case s.Dim != m.Config.Dims.Get(mod):
			return fmt.Errorf("model: input %q: shape [%d,%d,%d], want %s: feature dim %d, want %d", mod, s.Batch, s.Len, s.Dim, want, s.Dim, m.Config.Dims.Get(mod))
		case s.Len > m.Config.Lengths.Get(mod):
			return fmt.Errorf("model: input %q: shape [%d,%d,%d], want %s: length %d exceeds the model's %d", mod, s.Batch, s.Len, s.Dim, want, s.Len, m.Config.Lengths.Get(mod))
		case len(s.Data) != s.Batch*s.Len*s.Dim:
			return fmt.Errorf("model: input %q: %d values for shape [%d,%d,%d]", mod, len(s.Data), s.Batch, s.Len, s.Dim)
		}
		for i, v := range s.Data {
			if v-v != 0 { // NaN or ±Inf: v-v is NaN, finite values give 0
				row := i / max(s.Dim, 1)
				return fmt.Errorf("model: input %q: non-finite value %v at sample %d, step %d, feature %d", mod, v, row/max(s.Len, 1), row%max(s.Len, 1), i%max(s.Dim, 1))
			}
		}
	}
	return nil
}

// Forward runs the model on x and writes the results to out. Sequences
// shorter than the model's lengths are zero-padded at the end.
func (in *Inferencer) Forward(x *Input, out *Output) error {
	m := in.model
	if err := m.CheckInput(x); err != nil {
		return err
	}
	b := x[Text].Batch
	out.resize(b, m.Config.EmbedDim)
	e := m.Config.EmbedDim
	for _, mod := range Modalities {
		in.encode(mod, &x[mod], b, out.Embeddings[mod])
	}
	for i := range b {
		var h, expert [Experts][]float32
		for k := range Experts {
			h[k] = out.Embeddings[k][i*e : (i+1)*e]
			expert[k] = out.ExpertLogits[k][i*Classes : (i+1)*Classes]
		}
		in.ws.fusion.fuse(m, h, out.Logits[i*Classes:(i+1)*Classes], expert,
			out.Router[i*Experts:(i+1)*Experts], out.Similarity[i*Experts*Experts:(i+1)*Experts*Experts])
	}
	return nil
}

// parallel splits the tasks [0,n) into contiguous ranges, one per thread,
// and runs fn on each; fn gets its thread index for per-thread scratch.
//
// work estimates the multiply-adds of all n tasks; below minParallelWork
// the goroutine hand-off costs more than it saves, and fn runs alone.
func (in *Inferencer) parallel(n, work int, fn func(thread, lo, hi int)) {
	threads := min(len(in.heads), n)
	if threads <= 1 || work < minParallelWork {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for t := range threads {
		wg.Go(func() { fn(t, t*n/threads, (t+1)*n/threads) })
	}
	wg.Wait()
}

// minParallelWork is the estimated multiply-adds below which a parallel
// section runs on one goroutine: about 50 µs of work with the AVX2 kernels,
// some ten times the cost of starting and joining a goroutine (measured
// with BenchmarkForward's SIMS batch-1 case, which has many small layers).
const minParallelWork = 1 << 18

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func (o *Output) resize(b, e int) {
	o.Batch = b
	o.Logits = grow(o.Logits, b*Classes)
	o.Router = grow(o.Router, b*Experts)
	o.Similarity = grow(o.Similarity, b*Experts*Experts)
	for k := range Experts {
		o.ExpertLogits[k] = grow(o.ExpertLogits[k], b*Classes)
		o.Embeddings[k] = grow(o.Embeddings[k], b*e)
	}
}

// workspace holds the scratch buffers of one goroutine.
type workspace struct {
	src    []int32   // per unique row: index of the input row, or -1 for a zero row
	count  []float32 // per unique row: how many sequence positions it stands for
	start  []int     // per sample: first unique row; len = samples+1
	x      []float32 // gathered inputs [R,D]
	h      []float32 // hidden states [R,E]
	qkv    []float32 // [R,3E]
	attn   []float32 // [R,E]
	scale  []float32 // BatchNorm scale per feature
	shift  []float32 // BatchNorm shift per feature
	fusion fusionScratch
}

// headScratch holds one thread's scratch buffers.
type headScratch struct {
	kt, vt []float32 // one head's keys and values, transposed [dh,u]
	scores []float32 // one query's attention scores [u]
	q      []float32 // one query, scaled [dh]
	row    []float32 // one linear layer output row [Out]
	t      []float32 // a chunk of normalised states [chunk,E]
	ff     []float32 // a chunk of feed-forward activations [chunk,4E]
}

// plan lists the distinct rows of the batch's samples of seq padded to padLen.
func (ws *workspace) plan(seq *Sequence, padLen int, plain bool, b0, b1 int) {
	ws.src, ws.count, ws.start = ws.src[:0], ws.count[:0], ws.start[:0]
	for b := b0; b < b1; b++ {
		ws.start = append(ws.start, len(ws.src))
		zeros := padLen - seq.Len
		for t := range seq.Len {
			row := b*seq.Len + t
			if !plain && allZero(seq.Data[row*seq.Dim:(row+1)*seq.Dim]) {
				zeros++
				continue
			}
			ws.src = append(ws.src, int32(row))
			ws.count = append(ws.count, 1)
		}
		if plain {
			for range zeros {
				ws.src = append(ws.src, -1)
				ws.count = append(ws.count, 1)
			}
		} else if zeros > 0 {
			ws.src = append(ws.src, -1)
			ws.count = append(ws.count, float32(zeros))
		}
	}
	ws.start = append(ws.start, len(ws.src))
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// encode runs one branch on the batch and writes the unit embeddings to
// emb ([B, E]).
func (in *Inferencer) encode(mod Modality, seq *Sequence, batch int, emb []float32) {
	// Samples go through in groups of at most chunkRows sequence positions,
	// so that a group's activations stay in the processor's caches.
	padLen := in.model.Config.Lengths.Get(mod)
	group := max(1, chunkRows/padLen)
	e := in.model.Config.EmbedDim
	for b0 := 0; b0 < batch; b0 += group {
		b1 := min(batch, b0+group)
		in.encodeGroup(mod, seq, b0, b1, emb[b0*e:b1*e])
	}
}

// chunkRows bounds the sequence positions of one group of samples (1024
// rows of activations take about 1.5 MB, within a core's L2/L3 share).
const chunkRows = 1024

// encodeGroup runs one branch on samples [b0,b1) and writes their unit
// embeddings to emb ([b1-b0, E]).
func (in *Inferencer) encodeGroup(mod Modality, seq *Sequence, b0, b1 int, emb []float32) {
	m, ws := in.model, &in.ws
	br := &m.Weights.Branches[mod]
	e, d := m.Config.EmbedDim, seq.Dim
	padLen := m.Config.Lengths.Get(mod)
	ws.plan(seq, padLen, in.opts.Plain, b0, b1)
	r := len(ws.src)

	// Gather the distinct rows, with BatchNorm in inference mode.
	ws.x = grow(ws.x, r*d)
	if br.Norm != nil {
		ws.scale, ws.shift = grow(ws.scale, d), grow(ws.shift, d)
		n := br.Norm
		for j := range d {
			inv := float32(1 / math.Sqrt(float64(n.RunningVar[j])+batchNormEps))
			ws.scale[j] = inv * n.Weight[j]
			ws.shift[j] = n.Bias[j] - n.RunningMean[j]*ws.scale[j]
		}
	}
	for i, s := range ws.src {
		row := ws.x[i*d : (i+1)*d]
		if s < 0 {
			clear(row)
		} else {
			copy(row, seq.Data[int(s)*d:(int(s)+1)*d])
		}
		if br.Norm != nil {
			for j := range row {
				row[j] = row[j]*ws.scale[j] + ws.shift[j]
			}
		}
	}

	ws.h = grow(ws.h, r*e)
	in.linear(ws.h, ws.x, r, &br.Proj, simd.Overwrite)
	// The layers alternate between row stages, where every row is
	// independent (the output projection, the feed-forward block and the
	// next layer's LayerNorm and Q/K/V projection, in one pass over each
	// chunk of rows), and attention, which needs all of a sample's keys:
	// two parallel sections per layer.
	ws.qkv = grow(ws.qkv, r*3*e)
	ws.attn = grow(ws.attn, r*e)
	var prev *EncoderLayer
	for li := range br.Layers {
		l := &br.Layers[li]
		in.rowStage(r, prev, l)
		in.attention(r, e, m.Config.Heads)
		prev = l
	}
	if prev != nil {
		in.rowStage(r, prev, nil)
	}

	// Mean over all padLen positions, then L2 normalisation.
	for b := range b1 - b0 {
		out := emb[b*e : (b+1)*e]
		clear(out)
		for i := ws.start[b]; i < ws.start[b+1]; i++ {
			c := ws.count[i]
			for j, v := range ws.h[i*e : (i+1)*e] {
				out[j] += c * v
			}
		}
		var norm float64
		for j := range out {
			out[j] /= float32(padLen)
			norm += float64(out[j]) * float64(out[j])
		}
		inv := float32(1 / math.Max(math.Sqrt(norm), l2NormEps))
		for j := range out {
			out[j] *= inv
		}
	}
}

// rowStage runs, for each of the r rows of ws.h, the rest of layer post
// after its attention (output projection and residual, LayerNorm 2, the
// feed-forward block and its residual), then the start of layer next up to
// its attention (LayerNorm 1, the Q/K/V projection into ws.qkv). Either
// may be nil. Rows are shared among threads and run in chunks of
// linearChunk.
func (in *Inferencer) rowStage(r int, post, next *EncoderLayer) {
	ws := &in.ws
	e := in.model.Config.EmbedDim
	work := 0
	if post != nil {
		work += e*e + 2*e*post.Linear1.Out
	}
	if next != nil {
		work += 3 * e * e
	}
	in.parallel(r, r*work, func(thread, lo, hi int) {
		hs := &in.heads[thread]
		for c0 := lo; c0 < hi; c0 += linearChunk {
			c1 := min(hi, c0+linearChunk)
			n := c1 - c0
			h := ws.h[c0*e : c1*e]
			hs.t = grow(hs.t, n*e)
			if post != nil {
				in.linearRows(h, ws.attn[c0*e:c1*e], n, &post.OutProj, simd.Accumulate, hs)
				layerNorm(hs.t, h, n, e, &post.Norm2)
				hs.ff = grow(hs.ff, n*post.Linear1.Out)
				in.linearRows(hs.ff, hs.t, n, &post.Linear1, simd.Rectify, hs)
				in.linearRows(h, hs.ff, n, &post.Linear2, simd.Accumulate, hs)
			}
			if next != nil {
				layerNorm(hs.t, h, n, e, &next.Norm1)
				in.linearRows(ws.qkv[c0*3*e:c1*3*e], hs.t, n, &next.InProj, simd.Overwrite, hs)
			}
		}
	})
}

// attention runs the self-attention of every sample from ws.qkv into
// ws.attn, one task per (sample, head), shared among the threads.
func (in *Inferencer) attention(r, e, heads int) {
	ws := &in.ws
	samples := len(ws.start) - 1
	work := 0
	for b := range samples {
		u := ws.start[b+1] - ws.start[b]
		work += 2 * u * u * e
	}
	in.parallel(samples*heads, work, func(thread, lo, hi int) {
		for task := lo; task < hi; task++ {
			b, h := task/heads, task%heads
			ws.attention(&in.heads[thread], ws.start[b], ws.start[b+1], e, heads, h)
		}
	})
}

// attention computes head h of the self-attention for the rows [r0,r1) of
// one sample from ws.qkv into ws.attn (before the output projection). Each
// row stands for ws.count[i] identical positions, which weights its key.
func (ws *workspace) attention(hs *headScratch, r0, r1, e, heads, h int) {
	u := r1 - r0
	dh := e / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	hs.kt, hs.vt = grow(hs.kt, dh*u), grow(hs.vt, dh*u)
	hs.scores, hs.q = grow(hs.scores, 2*u), grow(hs.q, 2*dh)
	count := ws.count[r0:r1]
	for j := range u {
		row := ws.qkv[(r0+j)*3*e:]
		for k := range dh {
			hs.kt[k*u+j] = row[e+h*dh+k]
			hs.vt[k*u+j] = row[2*e+h*dh+k]
		}
	}
	s0, s1 := hs.scores[:u], hs.scores[u:2*u]
	for i := 0; i < u; i += 2 {
		q0 := hs.q[:dh]
		for k, v := range ws.qkv[(r0+i)*3*e+h*dh:][:dh] {
			q0[k] = v * scale
		}
		if i+1 == u {
			mx := simd.ScoresRow(s0, q0, hs.kt, u)
			ws.attendRow(hs, s0, mx, count, r0+i, e, h, dh, u)
			break
		}
		q1 := hs.q[dh : 2*dh]
		for k, v := range ws.qkv[(r0+i+1)*3*e+h*dh:][:dh] {
			q1[k] = v * scale
		}
		mx0, mx1 := simd.ScoresRow2(s0, s1, q0, q1, hs.kt, u)
		ws.attendRow(hs, s0, mx0, count, r0+i, e, h, dh, u)
		ws.attendRow(hs, s1, mx1, count, r0+i+1, e, h, dh, u)
	}
}

// attendRow turns one query's scores s (largest mx) into its attention
// output for head h: count-weighted softmax, then the weighted values.
func (ws *workspace) attendRow(hs *headScratch, s []float32, mx float32, count []float32, row, e, h, dh, u int) {
	orow := ws.attn[row*e+h*dh : row*e+(h+1)*dh]
	inv := 1 / simd.ExpWeighted(orow, s, count, hs.vt, mx)
	for k := range orow {
		orow[k] *= inv
	}
}

// layerNorm writes LN(x) to dst for r rows of width e. The sums run in
// four independent partial sums, which keeps the adds from waiting on
// each other.
func layerNorm(dst, x []float32, r, e int, ln *LayerNorm) {
	w, b := ln.Weight[:e], ln.Bias[:e]
	for i := range r {
		row, out := x[i*e:(i+1)*e], dst[i*e:(i+1)*e]
		mean := sum4(row) / float32(e)
		variance := sqDev4(row, mean) / float32(e)
		inv := float32(1 / math.Sqrt(float64(variance)+layerNormEps))
		for j, v := range row {
			out[j] = (v-mean)*inv*w[j] + b[j]
		}
	}
}

// sum4 returns Σ v in four partial sums.
func sum4(v []float32) float32 {
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(v); j += 4 {
		s0 += v[j]
		s1 += v[j+1]
		s2 += v[j+2]
		s3 += v[j+3]
	}
	for ; j < len(v); j++ {
		s0 += v[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev4 returns Σ (v−mean)² in four partial sums.
func sqDev4(v []float32, mean float32) float32 {
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(v); j += 4 {
		d0, d1, d2, d3 := v[j]-mean, v[j+1]-mean, v[j+2]-mean, v[j+3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; j < len(v); j++ {
		d := v[j] - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// linear computes dst[r,Out] = x[r,In]·Wᵀ + b as mode says, rows shared
// among threads.
func (in *Inferencer) linear(dst, x []float32, r int, l *Linear, mode simd.Mode) {
	in.parallel(r, r*l.In*l.Out, func(thread, lo, hi int) {
		in.linearRows(dst[lo*l.Out:hi*l.Out], x[lo*l.In:hi*l.In], hi-lo, l, mode, &in.heads[thread])
	})
}

// linearRows computes dst[n,Out] = x[n,In]·Wᵀ + b as mode says on the
// calling goroutine, with hs's scratch.
func (in *Inferencer) linearRows(dst, x []float32, n int, l *Linear, mode simd.Mode, hs *headScratch) {
	hs.row = grow(hs.row, l.Out)
	simd.LinearRows(dst, x, in.wt[l], l.Bias, hs.row, n, l.In, l.Out, mode)
}

// linearChunk is how many rows a row stage takes at once: the chunk's
// normalised states and feed-forward activations (20 KB at E = 32) stay
// in the L1 cache between the layers that pass them on.
const linearChunk = 32

// Probs returns the softmax of sample b's fused logits.
func (o *Output) Probs(b int) [Classes]float32 {
	var p [Classes]float32
	softmax(p[:], o.Logits[b*Classes:(b+1)*Classes], 1)
	return p
}

// ExpertProbs returns the softmax of sample b's logits from expert k.
func (o *Output) ExpertProbs(b int, k Modality) [Classes]float32 {
	var p [Classes]float32
	softmax(p[:], o.ExpertLogits[k][b*Classes:(b+1)*Classes], 1)
	return p
}

// Argmax returns the index of the largest of the three logits (the first on
// ties, as torch.argmax does).
func Argmax(logits []float32) int {
	best := 0
	for i := 1; i < len(logits); i++ {
		if logits[i] > logits[best] {
			best = i
		}
	}
	return best
}
