package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
)

// randomCase builds a small random model (perturbed away from the
// initialisation so that every γ, β and bias matters) and one batch whose
// audio and vision rows end in zero padding.
func randomCase(t testing.TB, layers, heads, embed, batch int, seed uint64) (*model.Model, *model.Input, *Labels) {
	t.Helper()
	return randomCaseLengths(t, layers, heads, embed, batch, seed, model.PerModality{Text: 4, Audio: 5, Vision: 3})
}

// randomCaseLengths is randomCase with the given sequence lengths.
func randomCaseLengths(t testing.TB, layers, heads, embed, batch int, seed uint64, lengths model.PerModality) (*model.Model, *model.Input, *Labels) {
	t.Helper()
	m, err := model.New(model.Config{Convention: "mosi", EmbedDim: embed, Layers: layers, Heads: heads,
		Dims: model.PerModality{Text: 6, Audio: 3, Vision: 4}, Lengths: lengths})
	if err != nil {
		t.Fatal(err)
	}
	InitWeights(m.Weights, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, p := range m.Weights.Params() {
		if p.Buffer {
			continue
		}
		for i := range p.Data {
			p.Data[i] += float32(rng.Float64()-0.5) * 0.6
		}
	}
	var in model.Input
	for _, mod := range model.Modalities {
		l, d := m.Config.Lengths.Get(mod), m.Config.Dims.Get(mod)
		s := model.Sequence{Batch: batch, Len: l, Dim: d, Data: make([]float32, batch*l*d)}
		for b := range batch {
			valid := l
			if mod != model.Text {
				valid = 1 + (b+int(mod))%l
			}
			for i := range valid * d {
				s.Data[b*l*d+i] = float32(rng.NormFloat64())
			}
		}
		in[mod] = s
	}
	lab := &Labels{M: make([]int, batch)}
	for b := range batch {
		lab.M[b] = rng.IntN(model.Classes)
	}
	for k := range lab.Uni {
		lab.Uni[k] = make([]int, batch)
		for b := range batch {
			lab.Uni[k][b] = rng.IntN(model.Classes)
		}
	}
	return m, &in, lab
}

// TestGradientsFiniteDifference compares every parameter tensor's gradient
// with a central finite difference of the loss along a random direction,
// for both stages, several layer and head counts, and active dropout (the
// masks depend only on the step key, so the loss is a fixed function), with
// the attention probabilities kept or recomputed. The cases with the
// reference width 32 and longer sequences run the vector kernels'
// whole-block paths (LinearRows' four-row kernel, attention rows of 16 and
// more with partial last blocks, query blocks of 4 and a remainder).
func TestGradientsFiniteDifference(t *testing.T) {
	short, long := model.PerModality{Text: 4, Audio: 5, Vision: 3}, model.PerModality{Text: 19, Audio: 37, Vision: 18}
	for _, tc := range []struct {
		name                 string
		layers, heads, embed int
		stage2               bool
		rule                 string
		encDrop, outDrop     float64
		cache                int64
		lengths              model.PerModality
	}{
		{"stage2-1-layer-2-heads-dropout", 1, 2, 8, true, "mosi", 0.2, 0.3, 0, short},
		{"stage2-1-layer-2-heads-dropout-recompute", 1, 2, 8, true, "mosi", 0.2, 0.3, -1, short},
		{"stage2-3-layers-4-heads", 3, 4, 16, true, "sims", -1, 0, 0, short},
		{"stage1-2-layers-1-head-dropout-recompute", 2, 1, 8, false, "sims", 0.2, 0.3, -1, short},
		{"stage1-0-layers", 0, 1, 8, false, "mosi", -1, 0, 0, short},
		{"stage2-2-layers-1-head-encoder-dropout", 2, 1, 8, true, "sims", 0.2, 0, 0, short},
		{"stage1-2-layers-2-heads-head-dropout", 2, 2, 8, false, "sims", -1, 0.3, 0, short},
		{"stage2-width-32-long-dropout", 1, 4, 32, true, "mosi", 0.2, 0.3, 0, long},
		{"stage2-width-32-long-dropout-recompute", 1, 4, 32, true, "mosi", 0.2, 0, -1, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, in, lab := randomCaseLengths(t, tc.layers, tc.heads, tc.embed, 5, 11, tc.lengths)
			eng, err := NewEngine(m, EngineOptions{EncoderDropout: tc.encDrop, OutDropout: tc.outDrop,
				SupConRule: tc.rule, StableSupCon: true, Seed: 3, AttentionCache: tc.cache})
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				var l Losses
				var err error
				if tc.stage2 {
					l, err = eng.Stage2(in, lab, 9)
				} else {
					l, err = eng.Stage1(in, lab, 9)
				}
				if err != nil {
					t.Fatal(err)
				}
				return l.Total
			}
			loss()
			grads := model.NewWeights(&m.Config)
			gp := grads.Params()
			for i, p := range eng.Grads().Params() {
				copy(gp[i].Data, p.Data)
			}
			rng := rand.New(rand.NewPCG(5, 5))
			// eps balances float32 rounding in the loss (≈1e-6) against
			// curvature. A ReLU kink within eps of the point shows as
			// disagreeing one-sided differences; then a new direction is
			// drawn, and if every direction meets the kink, the analytic
			// value must equal one of the one-sided derivatives (autograd's
			// choice at a kink).
			const eps, tries = 1e-3, 6
			tol := func(x float64) float64 { return 2e-3 + 2e-2*math.Abs(x) }
			base := loss()
			for i, p := range m.Weights.Params() {
				if p.Buffer {
					continue
				}
				orig := append([]float32(nil), p.Data...)
				dir := make([]float64, len(p.Data))
				var analytic, fwd, bwd float64
				smooth := false
				for range tries {
					var nrm float64
					for j := range dir {
						dir[j] = rng.NormFloat64()
						nrm += dir[j] * dir[j]
					}
					analytic = 0
					for j := range dir {
						dir[j] /= math.Sqrt(nrm)
						analytic += dir[j] * float64(gp[i].Data[j])
					}
					shift := func(s float64) float64 {
						for j := range dir {
							p.Data[j] = orig[j] + float32(s*dir[j])
						}
						return loss()
					}
					fwd, bwd = (shift(eps)-base)/eps, (base-shift(-eps))/eps
					copy(p.Data, orig)
					if math.Abs(fwd-bwd) <= tol(fwd+bwd) {
						smooth = true
						break
					}
				}
				switch central := (fwd + bwd) / 2; {
				case smooth && math.Abs(central-analytic) > tol(central):
					t.Errorf("%s: analytic directional derivative %.6g, finite difference %.6g", p.Name, analytic, central)
				case !smooth && math.Abs(fwd-analytic) > tol(fwd) && math.Abs(bwd-analytic) > tol(bwd):
					t.Errorf("%s: at a kink, analytic directional derivative %.6g, one-sided differences %.6g and %.6g", p.Name, analytic, fwd, bwd)
				}
			}
		})
	}
}

// TestSupConStableMatchesReference checks that the reference float32 form
// and the stable form agree to the float32 cancellation error, and that
// the loss is ln(n−1) − ln(#positives) for identical embeddings.
func TestSupConStableMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    []bool
	}{
		{"mixed", []bool{true, false, true, true, false, false}},
		{"one-negative", []bool{true, true, true, true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, e := len(tc.q), 4
			h := make([]float32, n*e)
			for i := range n {
				h[i*e] = 1
			}
			// Identical rows: every E_ij is equal, so loss_i = ln((n−1)/pos_i).
			var want float64
			anchors := 0
			for i := range n {
				pos := 0
				for j := range n {
					if j != i && tc.q[j] == tc.q[i] {
						pos++
					}
				}
				if pos > 0 {
					want += math.Log(float64(n-1) / float64(pos))
					anchors++
				}
			}
			want /= float64(anchors)
			for _, stable := range []bool{false, true} {
				got := supCon(h, tc.q, e, DefaultSupConTemperature, stable, nil)
				if math.Abs(got-want) > 1e-6 {
					t.Errorf("stable=%v: %.8g, want %.8g", stable, got, want)
				}
			}
		})
	}
	if got := supCon(make([]float32, 8), []bool{true, false}, 4, 0.07, true, nil); got != 0 {
		t.Errorf("no positives: %v, want 0", got)
	}
}
