package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveForward is a second, deliberately plain implementation of the
// inference pass in float64, written straight from cmc-model.md §2 (one
// sample at a time, every padded row materialised, no shortcut, no BLAS).
// It checks Inferencer on configurations the reference fixture does not
// cover. It returns the fused logits, expert logits, router weights and
// embeddings of sample b.
func naiveForward(m *Model, x *Input, b int) (logits [3]float64, expert [3][3]float64, gate [3]float64, emb [3][]float64) {
	cfg := &m.Config
	e := cfg.EmbedDim
	lin := func(l *Linear, v []float64) []float64 {
		out := make([]float64, l.Out)
		for o := range l.Out {
			s := 0.0
			for i := range l.In {
				s += float64(l.Weight[o*l.In+i]) * v[i]
			}
			if l.Bias != nil {
				s += float64(l.Bias[o])
			}
			out[o] = s
		}
		return out
	}
	ln := func(p *LayerNorm, v []float64) []float64 {
		mean, vr := 0.0, 0.0
		for _, a := range v {
			mean += a
		}
		mean /= float64(len(v))
		for _, a := range v {
			vr += (a - mean) * (a - mean)
		}
		vr /= float64(len(v))
		out := make([]float64, len(v))
		for i, a := range v {
			out[i] = (a-mean)/math.Sqrt(vr+1e-5)*float64(p.Weight[i]) + float64(p.Bias[i])
		}
		return out
	}
	for _, mod := range Modalities {
		br := &m.Weights.Branches[mod]
		seq := &x[mod]
		L := cfg.Lengths.Get(mod)
		rows := make([][]float64, L)
		for t := range L {
			raw := make([]float64, seq.Dim)
			if t < seq.Len {
				for d := range seq.Dim {
					raw[d] = float64(seq.Data[(b*seq.Len+t)*seq.Dim+d])
				}
			}
			if n := br.Norm; n != nil {
				for d := range raw {
					raw[d] = (raw[d]-float64(n.RunningMean[d]))/math.Sqrt(float64(n.RunningVar[d])+1e-5)*float64(n.Weight[d]) + float64(n.Bias[d])
				}
			}
			rows[t] = lin(&br.Proj, raw)
		}
		for li := range br.Layers {
			l := &br.Layers[li]
			qkv := make([][]float64, L)
			for t := range L {
				qkv[t] = lin(&l.InProj, ln(&l.Norm1, rows[t]))
			}
			dh := e / cfg.Heads
			for t := range L {
				att := make([]float64, e)
				for h := range cfg.Heads {
					s := make([]float64, L)
					mx := math.Inf(-1)
					for j := range L {
						for k := range dh {
							s[j] += qkv[t][h*dh+k] * qkv[j][e+h*dh+k] / math.Sqrt(float64(dh))
						}
						mx = math.Max(mx, s[j])
					}
					sum := 0.0
					for j := range s {
						s[j] = math.Exp(s[j] - mx)
						sum += s[j]
					}
					for j := range L {
						for k := range dh {
							att[h*dh+k] += s[j] / sum * qkv[j][2*e+h*dh+k]
						}
					}
				}
				qkv[t] = append(qkv[t], att...) // keep the attention output beside q, k, v
			}
			for t := range L {
				o := lin(&l.OutProj, qkv[t][3*e:])
				for i := range o {
					rows[t][i] += o[i]
				}
				f := lin(&l.Linear1, ln(&l.Norm2, rows[t]))
				for i := range f {
					f[i] = math.Max(f[i], 0)
				}
				o = lin(&l.Linear2, f)
				for i := range o {
					rows[t][i] += o[i]
				}
			}
		}
		mean := make([]float64, e)
		for t := range L {
			for i := range e {
				mean[i] += rows[t][i] / float64(L)
			}
		}
		norm := 0.0
		for _, v := range mean {
			norm += v * v
		}
		for i := range mean {
			mean[i] /= math.Max(math.Sqrt(norm), 1e-12)
		}
		emb[mod] = mean
	}
	var mixed [3][]float64
	f := make([]float64, e)
	for i := range 3 {
		var a [3]float64
		sum := 0.0
		for j := range 3 {
			s := 0.0
			for c := range e {
				s += emb[i][c] * emb[j][c]
			}
			a[j] = math.Exp(s / cfg.Temperature)
			sum += a[j]
		}
		mixed[i] = make([]float64, e)
		for j := range 3 {
			for c := range e {
				mixed[i][c] += a[j] / sum * emb[j][c]
			}
		}
		for c := range e {
			f[c] += mixed[i][c]
		}
	}
	z := lin(&m.Weights.Router, f)
	zs := 0.0
	for k := range 3 {
		gate[k] = math.Exp(z[k])
		zs += gate[k]
	}
	for k := range 3 {
		gate[k] /= zs
		hd := &m.Weights.Heads[k]
		hid := lin(&hd.Proj1, mixed[k])
		for i := range hid {
			hid[i] = math.Max(hid[i], 0)
		}
		r := lin(&hd.Proj2, hid)
		for i := range r {
			r[i] += mixed[k][i]
		}
		o := lin(&hd.Out, r)
		for c := range 3 {
			expert[k][c] = o[c]
			logits[c] += gate[k] * o[c]
		}
	}
	return
}

// randomModel returns a model for cfg with seeded random weights.
func randomModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Weights.Randomize(seed)
	return m
}

// randomInput returns a batch whose sample b has real rows for a fraction
// of the given length and zero rows after them, plus a zero row in the
// middle (zero rows need not trail for the shortcut to be exact).
func randomInput(cfg *Config, batch int, lens PerModality, fill float64, seed uint64) *Input {
	rng := rand.New(rand.NewPCG(seed, 2))
	var x Input
	for _, mod := range Modalities {
		l, d := lens.Get(mod), cfg.Dims.Get(mod)
		s := Sequence{Batch: batch, Len: l, Dim: d, Data: make([]float32, batch*l*d)}
		for b := range batch {
			real := max(1, int(fill*float64(l))-b%3)
			for t := range min(real, l) {
				if t == real/2 && real > 2 {
					continue
				}
				for j := range d {
					s.Data[(b*l+t)*d+j] = float32(rng.NormFloat64())
				}
			}
		}
		x[mod] = s
	}
	return &x
}

// TestAgainstNaive compares the Inferencer, plain and with the padding
// shortcut, with naiveForward on several layer, head and size settings.
func TestAgainstNaive(t *testing.T) {
	cases := []struct {
		name          string
		layers, heads int
		dims, lens    PerModality
		top           int
	}{
		{"1 layer 1 head", 1, 1, PerModality{12, 3, 7}, PerModality{5, 9, 6}, 3},
		{"3 layers 2 heads", 3, 2, PerModality{20, 33, 9}, PerModality{7, 13, 11}, 3},
		{"2 layers 8 heads", 2, 8, PerModality{16, 5, 20}, PerModality{6, 20, 17}, 3},
		{"0 layers", 0, 4, PerModality{8, 4, 4}, PerModality{3, 4, 5}, 3},
		{"5 layers 4 heads top 3", 5, 4, PerModality{10, 6, 8}, PerModality{4, 10, 8}, 3},
		// Sequences longer than chunkRows/2 go through in several groups.
		{"long sequences", 1, 2, PerModality{8, 4, 4}, PerModality{4, 300, 260}, 3},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Convention: "sims", Layers: c.layers, Heads: c.heads, Dims: c.dims, Lengths: c.lens, TopK: c.top}
			m := randomModel(t, cfg, uint64(i))
			// Inputs shorter than the model's lengths exercise the end padding.
			short := PerModality{Text: c.lens.Text - 1, Audio: c.lens.Audio, Vision: c.lens.Vision - 2}
			x := randomInput(&m.Config, 5, short, 0.6, uint64(i))
			type result struct {
				logits, gate [3]float64
				expert       [3][3]float64
				emb          [3][]float64
			}
			var want [5]result
			for b := range want {
				r := &want[b]
				r.logits, r.expert, r.gate, r.emb = naiveForward(m, x, b)
			}
			for _, opts := range []Options{{}, {Plain: true}, {Threads: 2}} {
				var out Output
				if err := NewInferencer(m, opts).Forward(x, &out); err != nil {
					t.Fatal(err)
				}
				for b := range 5 {
					logits, expert, gate, emb := want[b].logits, want[b].expert, want[b].gate, want[b].emb
					for c := range 3 {
						check(t, "logits", b, out.Logits[b*3+c], logits[c])
						check(t, "router", b, out.Router[b*3+c], gate[c])
						for k := range 3 {
							check(t, "expert", b, out.ExpertLogits[k][b*3+c], expert[k][c])
						}
					}
					for k := range 3 {
						for j, v := range emb[k] {
							check(t, "embedding", b, out.Embeddings[k][b*m.Config.EmbedDim+j], v)
						}
					}
				}
			}
		})
	}
}

func check(t *testing.T, what string, b int, got float32, want float64) {
	t.Helper()
	// float32 against float64: 1e-5 absolute, the fixture tolerance.
	if d := math.Abs(float64(got) - want); d > 1e-5 || math.IsNaN(d) {
		t.Fatalf("sample %d %s = %.7g, want %.7g", b, what, got, want)
	}
}

// TestTopK checks the router mask for top_k < 3 against the rule: the
// dropped experts get weight 0 and the kept ones share the softmax.
func TestTopK(t *testing.T) {
	z := []float32{0.5, 2, 1}
	keepTopK(z, 2)
	if !math.IsInf(float64(z[0]), -1) || z[1] != 2 || z[2] != 1 {
		t.Fatalf("top 2 of [0.5 2 1] = %v", z)
	}
	var g [3]float32
	softmax(g[:], z, 1)
	want := 1 / (1 + math.Exp(-1)) // softmax of [2, 1]
	if g[0] != 0 || math.Abs(float64(g[1])-want) > 1e-6 {
		t.Errorf("gate %v, want [0 %.6f %.6f]", g, want, 1-want)
	}
	z = []float32{1, 1, 1}
	keepTopK(z, 1)
	if z[0] != 1 || !math.IsInf(float64(z[1]), -1) || !math.IsInf(float64(z[2]), -1) {
		t.Errorf("ties: %v, want the first kept", z)
	}
}
