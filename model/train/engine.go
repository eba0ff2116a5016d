package train

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/cmc-stream/cmc-stream/model"
)

// Reference training constants (cmc-model.md §2.4 and §5.3).
const (
	// DefaultEncoderDropout is the dropout inside every Transformer encoder
	// layer (PyTorch's TransformerEncoderLayer default, fixed in the reference).
	DefaultEncoderDropout = 0.1
	// DefaultSupConTemperature is the SupCon temperature τ_c
	// (--pretrain_temperature).
	DefaultSupConTemperature = 0.07
	// bnMomentum is the BatchNorm running-statistics momentum (PyTorch default).
	bnMomentum = 0.1
	// PyTorch's default eps of LayerNorm and BatchNorm1d, and F.normalize's
	// floor on the norm (§2.1, §2.2, §2.4).
	layerNormEps, batchNormEps, l2NormEps = 1e-5, 1e-5, 1e-12
)

// EngineOptions configures an Engine. Zero values select the defaults
// noted per field.
type EngineOptions struct {
	// Threads is the number of goroutines that share a batch (default 1).
	// Results do not depend on it: the batch is cut into shards of
	// shardSamples samples whatever the thread count.
	Threads int
	// EncoderDropout is the dropout probability inside the encoder layers
	// (attention weights, both residual branches and the FFN hidden layer).
	// 0 means DefaultEncoderDropout; a negative value disables it.
	EncoderDropout float64
	// OutDropout is the dropout probability of the expert heads' hidden
	// layer (the model's out_dropout); 0 disables it.
	OutDropout float64
	// SupConTemperature is τ_c; 0 means DefaultSupConTemperature.
	SupConTemperature float64
	// SupConRule picks the binary SupCon label (cmc-model.md §4.2): "mosi"
	// (q = y ≥ 1) or "sims" (q = y == 2). Empty means the model's
	// convention.
	SupConRule string
	// StableSupCon computes SupCon with a shifted float64 log-sum instead
	// of the reference's float32 arithmetic (see supCon); the default
	// follows the reference for parity.
	StableSupCon bool
	// Seed keys the dropout masks.
	Seed uint64
	// AttentionCache bounds the memory in bytes that may hold the attention
	// probabilities of a batch between the forward and the backward pass;
	// modalities are cached in order while they fit, the others recompute
	// the probabilities. 0 means DefaultAttentionCache; a negative value
	// disables the cache. A MOSI-shaped batch of 64 with 2 layers and 4
	// heads needs 807 MB for all three modalities, 5.2 MB for text alone.
	AttentionCache int64
}

// DefaultAttentionCache is the default EngineOptions.AttentionCache: 16
// MiB, which keeps the short text sequences' probabilities. Writing and
// reading back hundreds of megabytes costs more than recomputing them:
// at MOSI shapes a stage-2 step took 3.7 CPU-seconds with a 1 GiB cache
// and 2.7 with this one (BenchmarkStage2Batch, cpu-s/op).
const DefaultAttentionCache = 16 << 20

// Labels are the 3-class labels (0 negative, 1 neutral, 2 positive) of one
// batch.
type Labels struct {
	// M is the multimodal label; used by stage 2 only.
	M []int
	// Uni are the unimodal (pseudo or real) labels by model.Modality.
	Uni [model.Experts][]int
}

// Losses are the loss terms of one batch (cmc-model.md §4.3, §4.5).
type Losses struct {
	// M is CE(final logits, M); 0 in stage 1.
	M float64
	// Uni are the CE of each expert (stage 2) or unimodal head (stage 1) on
	// its label, by model.Modality.
	Uni [model.Experts]float64
	// SupCon is the contrastive loss over the 3B embeddings.
	SupCon float64
	// Total is the sum of the terms.
	Total float64
}

// Engine computes training-mode forward and backward passes of a CMC model
// for one batch at a time. It reads the model's parameters, updates its
// BatchNorm running statistics, and writes gradients to Grads. An Engine
// reuses its buffers and is not safe for concurrent use.
type Engine struct {
	model   *model.Model
	grads   *model.Weights
	opts    EngineOptions
	encDrop dropout
	outDrop dropout
	pool    []*worker // shard states, grown to the largest batch's shard count
	shards  []*worker // this batch's: pool[:⌈B/shardSamples⌉]
	out     model.Output

	emb, demb []float32 // [3,B,E] unit embeddings and their gradients
	heads     [model.Experts]headCache
	pfm       []pfmCache
	dlogits   [model.Experts][]float32
	dmixed    [model.Experts][]float32
	dfinal    []float32
	tmp, hdx  []float32
	lin       linearScratch // the router's
	q         []bool
	bnScale   [model.Experts][]float32 // per feature: γ·rstd
	bnMean    [model.Experts][]float32
	bnRstd    [model.Experts][]float32
}

// shardSamples is the number of samples per shard. A batch is cut into
// shards of this many samples, each with its own activations and gradients;
// the Threads goroutines take the next shard as they finish one, so a
// goroutine that the operating system holds back (a shared machine) delays
// the batch by at most one shard instead of half of it, and the gradients
// are summed in shard order, so results do not depend on Threads or on
// scheduling. 8 samples keep the linear kernels' row blocks long (8×50 to
// 8×500 rows) and cost 8 gradient copies per batch of 64 (108k values
// each at MOSI shapes).
const shardSamples = 8

// worker is the state of one shard of a batch: samples [lo,hi).
type worker struct {
	lo, hi int
	br     [model.Experts]branchWork
	grads  *model.Weights
}

// NewEngine returns an Engine for m. m's parameters may change between
// calls (an optimiser step), but not its configuration.
func NewEngine(m *model.Model, opts EngineOptions) (*Engine, error) {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.TopK != model.Experts {
		return nil, fmt.Errorf("train: top_k %d is not supported, only %d (all experts)", cfg.TopK, model.Experts)
	}
	if opts.Threads < 1 {
		opts.Threads = 1
	}
	switch {
	case opts.EncoderDropout == 0:
		opts.EncoderDropout = DefaultEncoderDropout
	case opts.EncoderDropout < 0:
		opts.EncoderDropout = 0
	}
	if opts.EncoderDropout >= 1 || opts.OutDropout < 0 || opts.OutDropout >= 1 {
		return nil, fmt.Errorf("train: dropout probabilities must be in [0,1), got encoder %v, out %v", opts.EncoderDropout, opts.OutDropout)
	}
	if opts.SupConTemperature == 0 {
		opts.SupConTemperature = DefaultSupConTemperature
	}
	// The reference form needs e^{1/τ} to be a finite float32 (§4.2).
	if !(opts.SupConTemperature > 0) || (!opts.StableSupCon && 1/opts.SupConTemperature >= 88) {
		return nil, fmt.Errorf("train: SupCon temperature %v, want > 1/88 (or > 0 with StableSupCon)", opts.SupConTemperature)
	}
	if opts.AttentionCache == 0 {
		opts.AttentionCache = DefaultAttentionCache
	}
	if opts.SupConRule == "" {
		opts.SupConRule = cfg.Convention
	}
	if opts.SupConRule != "mosi" && opts.SupConRule != "sims" {
		return nil, fmt.Errorf("train: SupCon rule %q, want \"mosi\" or \"sims\"", opts.SupConRule)
	}
	e := &Engine{model: m, grads: model.NewWeights(cfg), opts: opts,
		encDrop: newDropout(opts.EncoderDropout), outDrop: newDropout(opts.OutDropout)}
	zeroWeights(e.grads)
	return e, nil
}

// Grads returns the gradients of the last batch's total loss, in the
// model's layout (BatchNorm buffer entries stay 0). They are overwritten by
// the next call.
func (e *Engine) Grads() *model.Weights { return e.grads }

// Output returns the last batch's train-mode outputs: fused logits and
// router gates (stage 2 only), expert or unimodal-head logits, and unit
// embeddings. They are overwritten by the next call.
func (e *Engine) Output() *model.Output { return &e.out }

func zeroWeights(w *model.Weights) {
	for _, p := range w.Params() {
		clear(p.Data)
	}
}

// checkBatch validates a training batch: shapes equal to the model's
// lengths and dims, finite values, labels in range.
func (e *Engine) checkBatch(in *model.Input, lab *Labels, fused bool) error {
	cfg := &e.model.Config
	b := in[model.Text].Batch
	if b < 1 {
		return errors.New("train: empty batch")
	}
	for _, mod := range model.Modalities {
		s := &in[mod]
		if s.Batch != b || s.Len != cfg.Lengths.Get(mod) || s.Dim != cfg.Dims.Get(mod) || len(s.Data) != s.Batch*s.Len*s.Dim {
			return fmt.Errorf("train: input %q has shape [%d,%d,%d] with %d values, want [%d,%d,%d]",
				mod, s.Batch, s.Len, s.Dim, len(s.Data), b, cfg.Lengths.Get(mod), cfg.Dims.Get(mod))
		}
		for i, v := range s.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("train: input %q has a non-finite value at index %d", mod, i)
			}
		}
	}
	check := func(name string, y []int) error {
		if len(y) != b {
			return fmt.Errorf("train: %d %s labels for a batch of %d", len(y), name, b)
		}
		for i, c := range y {
			if c < 0 || c >= model.Classes {
				return fmt.Errorf("train: %s label %d of sample %d, want 0..%d", name, c, i, model.Classes-1)
			}
		}
		return nil
	}
	if fused {
		if err := check("M", lab.M); err != nil {
			return err
		}
	}
	for _, mod := range model.Modalities {
		if err := check(mod.String(), lab.Uni[mod]); err != nil {
			return err
		}
	}
	return nil
}

// Stage2 runs the multimodal model in train mode on one batch, computes
// L2 = CE(final, M) + Σ_k CE(o_k, y_k) + SupCon (cmc-model.md §4.5) and its
// gradients, and updates the BatchNorm running statistics. step keys the
// dropout masks; use a new value per batch.
func (e *Engine) Stage2(in *model.Input, lab *Labels, step uint64) (Losses, error) {
	return e.run(in, lab, step, true)
}

// Stage1 runs the three unimodal models (each branch with its own head
// applied to its embedding, no PFM or router) in train mode on one batch,
// computes L1 = Σ_k CE(z_k, y_k) + SupCon (cmc-model.md §4.3) and its
// gradients, and updates the BatchNorm running statistics.
func (e *Engine) Stage1(in *model.Input, lab *Labels, step uint64) (Losses, error) {
	return e.run(in, lab, step, false)
}

// parallel calls f for each of n items on up to Threads goroutines, each
// taking the next item as it finishes one.
func (e *Engine) parallel(n int, f func(i int)) {
	threads := min(e.opts.Threads, n)
	if threads <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// setShards cuts a batch of b samples into shards.
func (e *Engine) setShards(b int) {
	n := (b + shardSamples - 1) / shardSamples
	for len(e.pool) < n {
		e.pool = append(e.pool, &worker{grads: model.NewWeights(&e.model.Config)})
	}
	e.shards = e.pool[:n]
	for t, w := range e.shards {
		w.lo, w.hi = t*shardSamples, min(b, (t+1)*shardSamples)
	}
}

func (e *Engine) run(in *model.Input, lab *Labels, step uint64, fused bool) (Losses, error) {
	if err := e.checkBatch(in, lab, fused); err != nil {
		return Losses{}, err
	}
	cfg := &e.model.Config
	wts := e.model.Weights
	b, dim := in[model.Text].Batch, cfg.EmbedDim
	base := streamKey(e.opts.Seed, step)
	zeroWeights(e.grads)
	e.setShards(b)
	for _, mod := range model.Modalities {
		if wts.Branches[mod].Norm != nil {
			e.batchNormStats(mod, &in[mod])
		}
	}
	budget := e.opts.AttentionCache
	for _, mod := range model.Modalities {
		l := int64(cfg.Lengths.Get(mod))
		need := int64(cfg.Layers*cfg.Heads*b) * l * (l + 1) * 4
		keep := need <= budget
		if keep {
			budget -= need
		}
		for _, w := range e.shards {
			w.br[mod].keepProbs = keep
		}
	}
	e.emb, e.demb = grow(e.emb, model.Experts*b*dim), grow(e.demb, model.Experts*b*dim)
	clear(e.demb)
	e.parallel(len(e.shards), func(i int) {
		w := e.shards[i]
		for _, mod := range model.Modalities {
			bw := &w.br[mod]
			e.prepareInput(w, mod, &in[mod])
			bw.forward(&wts.Branches[mod], cfg.Heads, e.encDrop, streamKey(base, 100+uint64(mod)),
				e.emb[(int(mod)*b+w.lo)*dim:(int(mod)*b+w.hi)*dim])
		}
	})
	losses := e.fusion(lab, b, dim, base, fused)
	e.parallel(len(e.shards), func(i int) {
		w := e.shards[i]
		zeroWeights(w.grads)
		for _, mod := range model.Modalities {
			bw := &w.br[mod]
			norm := wts.Branches[mod].Norm
			lo, hi := (int(mod)*b+w.lo)*dim, (int(mod)*b+w.hi)*dim
			dx := bw.backward(&wts.Branches[mod], &w.grads.Branches[mod], cfg.Heads, e.encDrop,
				streamKey(base, 100+uint64(mod)), e.emb[lo:hi], e.demb[lo:hi], norm != nil)
			if norm != nil {
				e.batchNormBackward(w, mod, &in[mod], dx)
			}
		}
	})
	// The shards hold the branches' gradients (their heads and router stay
	// 0), summed per tensor in shard order.
	gp := e.grads.Params()
	sp := make([][]model.Param, len(e.shards))
	for s, w := range e.shards {
		sp[s] = w.grads.Params()
	}
	e.parallel(len(gp), func(i int) {
		for s := range sp {
			axpy(1, sp[s][i].Data, gp[i].Data)
		}
	})
	return losses, nil
}

// batchNormStats computes the batch statistics of BatchNorm1d in train mode
// over batch and time, padding included (cmc-model.md §2.2), and updates
// the running statistics with momentum 0.1 and the unbiased variance.
func (e *Engine) batchNormStats(mod model.Modality, s *model.Sequence) {
	bn := e.model.Weights.Branches[mod].Norm
	d := s.Dim
	n := s.Batch * s.Len
	sum, sq := make([]float64, d), make([]float64, d)
	for r := range n {
		for j, v := range s.Data[r*d : (r+1)*d] {
			sum[j] += float64(v)
		}
	}
	for j := range sum {
		sum[j] /= float64(n)
	}
	for r := range n {
		for j, v := range s.Data[r*d : (r+1)*d] {
			c := float64(v) - sum[j]
			sq[j] += c * c
		}
	}
	e.bnMean[mod], e.bnRstd[mod], e.bnScale[mod] = grow(e.bnMean[mod], d), grow(e.bnRstd[mod], d), grow(e.bnScale[mod], d)
	for j := range d {
		biased := sq[j] / float64(n)
		unbiased := biased
		if n > 1 {
			unbiased = sq[j] / float64(n-1)
		}
		e.bnMean[mod][j] = float32(sum[j])
		e.bnRstd[mod][j] = float32(1 / math.Sqrt(biased+batchNormEps))
		e.bnScale[mod][j] = e.bnRstd[mod][j] * bn.Weight[j]
		bn.RunningMean[j] = float32((1-bnMomentum)*float64(bn.RunningMean[j]) + bnMomentum*sum[j])
		bn.RunningVar[j] = float32((1-bnMomentum)*float64(bn.RunningVar[j]) + bnMomentum*unbiased)
	}
}

// prepareInput points the worker's branch at its input rows, normalised by
// the batch statistics for BatchNorm branches.
func (e *Engine) prepareInput(w *worker, mod model.Modality, s *model.Sequence) {
	bw := &w.br[mod]
	bw.lo, bw.hi, bw.seqLen, bw.dim = w.lo, w.hi, s.Len, s.Dim
	rows := s.Data[w.lo*s.Len*s.Dim : w.hi*s.Len*s.Dim]
	bn := e.model.Weights.Branches[mod].Norm
	if bn == nil {
		bw.xn = rows
		return
	}
	d := s.Dim
	bw.xn = grow(bw.xn, len(rows)) // never the input: only the text branch, which has no BatchNorm, aliases it
	mean, scale := e.bnMean[mod], e.bnScale[mod]
	for i, v := range rows {
		j := i % d
		bw.xn[i] = (v-mean[j])*scale[j] + bn.Bias[j]
	}
}

// batchNormBackward accumulates dγ and dβ from the gradient dx at the
// BatchNorm output. The input is data, so no input gradient is needed.
func (e *Engine) batchNormBackward(w *worker, mod model.Modality, s *model.Sequence, dx []float32) {
	g := w.grads.Branches[mod].Norm
	d := s.Dim
	rows := s.Data[w.lo*s.Len*d : w.hi*s.Len*d]
	mean, rstd := e.bnMean[mod], e.bnRstd[mod]
	for i, v := range rows {
		j := i % d
		g.Weight[j] += dx[i] * (v - mean[j]) * rstd[j]
		g.Bias[j] += dx[i]
	}
}

// supConLabel maps a 3-class label to the binary SupCon label of rule
// "sims" (y == 2) or "mosi" (y ≥ 1), cmc-model.md §4.2.
func supConLabel(rule string, y int) bool {
	if rule == "sims" {
		return y == 2
	}
	return y >= 1
}

// fusion runs everything after the branches for the whole batch: heads
// (after the PFM and with the router when fused), the losses, and their
// backward pass down to e.demb.
func (e *Engine) fusion(lab *Labels, b, dim int, base uint64, fused bool) Losses {
	wts := e.model.Weights
	c := model.Classes
	e.out.Batch = b
	e.out.Logits = grow(e.out.Logits, b*c)
	e.out.Router = grow(e.out.Router, b*model.Experts)
	e.tmp = grow(e.tmp, b*dim)
	for k := range model.Experts {
		e.heads[k].resize(b, dim)
		e.dlogits[k] = grow(e.dlogits[k], b*c)
		e.dmixed[k] = grow(e.dmixed[k], b*dim)
		e.out.Embeddings[k] = e.emb[k*b*dim : (k+1)*b*dim]
	}
	rowsOf := func(buf []float32, s int) [model.Experts][]float32 {
		var r [model.Experts][]float32
		for k := range model.Experts {
			r[k] = buf[(k*b+s)*dim : (k*b+s+1)*dim]
		}
		return r
	}
	tau := float32(e.model.Config.Temperature)
	if fused {
		if len(e.pfm) < b {
			e.pfm = make([]pfmCache, b)
		}
		for s := range b {
			pc := &e.pfm[s]
			pc.f = grow(pc.f, dim)
			var mixed [model.Experts][]float32
			for k := range model.Experts {
				mixed[k] = e.heads[k].x[s*dim : (s+1)*dim]
			}
			pfmForward(pc, rowsOf(e.emb, s), mixed, tau)
			var z [model.Experts]float32
			e.lin.forward(z[:], pc.f, 1, &wts.Router)
			softmaxInto(pc.g[:], z[:])
			copy(e.out.Router[s*model.Experts:], pc.g[:])
		}
	} else {
		for k := range model.Experts {
			copy(e.heads[k].x, e.emb[k*b*dim:(k+1)*b*dim])
		}
	}
	var losses Losses
	for k := range model.Experts {
		hc := &e.heads[k]
		headForward(&wts.Heads[k], hc, b, e.outDrop, streamKey(base, 200+uint64(k)))
		e.out.ExpertLogits[k] = grow(e.out.ExpertLogits[k], b*c)
		copy(e.out.ExpertLogits[k], hc.logits)
		clear(e.dlogits[k])
		losses.Uni[k] = crossEntropy(hc.logits, lab.Uni[k], e.dlogits[k])
		losses.Total += losses.Uni[k]
	}
	if fused {
		clear(e.out.Logits)
		for s := range b {
			g := e.pfm[s].g
			for k := range model.Experts {
				axpy(g[k], e.heads[k].logits[s*c:(s+1)*c], e.out.Logits[s*c:(s+1)*c])
			}
		}
		e.dfinal = grow(e.dfinal, b*c)
		clear(e.dfinal)
		losses.M = crossEntropy(e.out.Logits, lab.M, e.dfinal)
		losses.Total += losses.M
		// Router: final = Σ g_k o_k, g = softmax(W_r f + b_r).
		for s := range b {
			pc := &e.pfm[s]
			df := e.dfinal[s*c : (s+1)*c]
			var dg [model.Experts]float32
			var sdg float32
			for k := range model.Experts {
				axpy(pc.g[k], df, e.dlogits[k][s*c:(s+1)*c])
				dg[k] = dot(e.heads[k].logits[s*c:(s+1)*c], df)
				sdg += pc.g[k] * dg[k]
			}
			var dz [model.Experts]float32
			for k := range dz {
				dz[k] = pc.g[k] * (dg[k] - sdg)
			}
			e.lin.backward(e.tmp[:dim], dz[:], pc.f, 1, &wts.Router, &e.grads.Router, false)
			for k := range model.Experts {
				copy(e.dmixed[k][s*dim:(s+1)*dim], e.tmp[:dim])
			}
		}
	} else {
		for k := range model.Experts {
			clear(e.dmixed[k])
		}
	}
	e.hdx = grow(e.hdx, b*dim)
	for k := range model.Experts {
		hc := &e.heads[k]
		headBackward(&wts.Heads[k], &e.grads.Heads[k], hc, b, e.outDrop, streamKey(base, 200+uint64(k)),
			e.dlogits[k], e.hdx, e.tmp)
		axpy(1, e.hdx, e.dmixed[k])
	}
	if fused {
		for s := range b {
			var dm [model.Experts][]float32
			for k := range model.Experts {
				dm[k] = e.dmixed[k][s*dim : (s+1)*dim]
			}
			pfmBackward(&e.pfm[s], rowsOf(e.emb, s), dm, rowsOf(e.demb, s), tau)
		}
	} else {
		for k := range model.Experts {
			axpy(1, e.dmixed[k], e.demb[k*b*dim:(k+1)*b*dim])
		}
	}
	e.q = e.q[:0]
	for k := range model.Experts {
		for _, y := range lab.Uni[k] {
			e.q = append(e.q, supConLabel(e.opts.SupConRule, y))
		}
	}
	losses.SupCon = supCon(e.emb, e.q, dim, e.opts.SupConTemperature, e.opts.StableSupCon, e.demb)
	losses.Total += losses.SupCon
	return losses
}

func softmaxInto(dst, z []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float32
	for i, v := range z {
		dst[i] = float32(math.Exp(float64(v - mx)))
		sum += dst[i]
	}
	for i := range dst {
		dst[i] /= sum
	}
}
