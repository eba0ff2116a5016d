package model

import "math"

// fusionScratch holds the per-sample buffers of the PFM, router and heads.
type fusionScratch struct {
	mixed  [Experts][]float32 // X' rows [E]
	hidden []float32          // head hidden layer [E]
	resid  []float32          // head residual [E]
	sum    []float32          // router input f [E]
}

// fuse runs the PFM, the MCR router and the expert heads for one sample
// (cmc-model.md §2.5) on the unit embeddings h.
func (f *fusionScratch) fuse(m *Model, h [Experts][]float32, logits []float32, expert [Experts][]float32, gate, sim []float32) {
	e := m.Config.EmbedDim
	for k := range Experts {
		f.mixed[k] = grow(f.mixed[k], e)
	}
	f.hidden, f.resid, f.sum = grow(f.hidden, e), grow(f.resid, e), grow(f.sum, e)

	// PFM: S = X Xᵀ, A = row_softmax(S/τ), X' = A X.
	for i := range Experts {
		for j := range Experts {
			sim[i*Experts+j] = dot32(h[i], h[j])
		}
	}
	tau := float32(m.Config.Temperature)
	for i := range Experts {
		var a [Experts]float32
		softmax(a[:], sim[i*Experts:(i+1)*Experts], tau)
		row := f.mixed[i]
		clear(row)
		for j := range Experts {
			for c, v := range h[j] {
				row[c] += a[j] * v
			}
		}
	}

	// MCR: f = Σ_k X'_k, z = W_r f + b_r, keep the top_k, g = softmax(z).
	clear(f.sum)
	for k := range Experts {
		for c, v := range f.mixed[k] {
			f.sum[c] += v
		}
	}
	var z [Experts]float32
	linearVec(z[:], f.sum, &m.Weights.Router)
	keepTopK(z[:], m.Config.TopK)
	softmax(gate, z[:], 1)

	clear(logits)
	for k := range Experts {
		f.head(&m.Weights.Heads[k], f.mixed[k], expert[k])
		for c := range Classes {
			logits[c] += gate[k] * expert[k][c]
		}
	}
}

// head applies a residual classifier head: Out(Proj2(ReLU(Proj1 x)) + x).
func (f *fusionScratch) head(hd *Head, x, logits []float32) {
	linearVec(f.hidden, x, &hd.Proj1)
	for i, v := range f.hidden {
		f.hidden[i] = max(v, 0)
	}
	linearVec(f.resid, f.hidden, &hd.Proj2)
	for i := range f.resid {
		f.resid[i] += x[i]
	}
	linearVec(logits, f.resid, &hd.Out)
}

// linearVec computes dst = W x + b for one vector.
func linearVec(dst, x []float32, l *Linear) {
	for o := range l.Out {
		s := dot32(l.Weight[o*l.In:(o+1)*l.In], x)
		if l.Bias != nil {
			s += l.Bias[o]
		}
		dst[o] = s
	}
}

func dot32(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// softmax writes softmax(x/t) to dst; entries of x at -Inf get weight 0.
func softmax(dst, x []float32, t float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v/t)
	}
	var sum float32
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v/t - mx)))
		sum += dst[i]
	}
	for i := range dst {
		dst[i] /= sum
	}
}

// keepTopK sets all but the k largest entries of z to -Inf (the reference
// TopkRouter masks the others before its softmax). Ties keep the lower index.
func keepTopK(z []float32, k int) {
	var rank [Experts]int
	for i := range z {
		for j := range z {
			if z[j] > z[i] || (z[j] == z[i] && j < i) {
				rank[i]++
			}
		}
	}
	for i := range z {
		if rank[i] >= k {
			z[i] = float32(math.Inf(-1))
		}
	}
}
