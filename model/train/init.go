package train

import (
	"math"
	"math/rand/v2"

	"github.com/cmc-stream/cmc-stream/model"
)

// newRand returns the package's seeded generator (PCG, two 64-bit words
// derived from seed and a stream number).
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^0x6a09e667f3bcc908), mix(stream+0xbb67ae8584caa73b)))
}

func uniform(rng *rand.Rand, dst []float32, bound float64) {
	for i := range dst {
		dst[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// initLinear applies PyTorch's nn.Linear / nn.Conv1d default: weight
// Kaiming-uniform with a = √5, i.e. U(±1/√fan_in), bias U(±1/√fan_in)
// (cmc-model.md §2.4).
func initLinear(rng *rand.Rand, l *model.Linear) {
	bound := 1 / math.Sqrt(float64(l.In))
	uniform(rng, l.Weight, bound)
	if l.Bias != nil {
		uniform(rng, l.Bias, bound)
	}
}

// InitWeights fills w with PyTorch's default initialisation of the
// reference modules (cmc-model.md §2.4): Linear and Conv1d weights and
// biases U(±1/√fan_in); the attention input projection Xavier-uniform
// U(±√(6/(E+3E))) with zero bias and a zero output-projection bias;
// LayerNorm and BatchNorm γ = 1, β = 0, running mean 0 and variance 1.
// All encoder layers of a branch start identical, as PyTorch deep-copies
// one layer to build the stack. The draw is determined by seed.
func InitWeights(w *model.Weights, seed uint64) {
	rng := newRand(seed, 1)
	for m := range w.Branches {
		b := &w.Branches[m]
		if n := b.Norm; n != nil {
			for i := range n.Weight {
				n.Weight[i], n.Bias[i], n.RunningMean[i], n.RunningVar[i] = 1, 0, 0, 1
			}
		}
		initLinear(rng, &b.Proj)
		for i := range b.Layers {
			l := &b.Layers[i]
			if i > 0 {
				copyLayer(l, &b.Layers[0])
				continue
			}
			e := l.InProj.In
			uniform(rng, l.InProj.Weight, math.Sqrt(6/float64(e+l.InProj.Out)))
			clear(l.InProj.Bias)
			initLinear(rng, &l.OutProj)
			clear(l.OutProj.Bias)
			initLinear(rng, &l.Linear1)
			initLinear(rng, &l.Linear2)
			for _, ln := range []*model.LayerNorm{&l.Norm1, &l.Norm2} {
				for j := range ln.Weight {
					ln.Weight[j], ln.Bias[j] = 1, 0
				}
			}
		}
	}
	for k := range w.Heads {
		initHead(rng, &w.Heads[k])
	}
	initLinear(rng, &w.Router)
}

func initHead(rng *rand.Rand, h *model.Head) {
	initLinear(rng, &h.Proj1)
	initLinear(rng, &h.Proj2)
	initLinear(rng, &h.Out)
}

func copyLinear(dst, src *model.Linear) {
	copy(dst.Weight, src.Weight)
	copy(dst.Bias, src.Bias)
}

func copyLayer(dst, src *model.EncoderLayer) {
	copyLinear(&dst.InProj, &src.InProj)
	copyLinear(&dst.OutProj, &src.OutProj)
	copyLinear(&dst.Linear1, &src.Linear1)
	copyLinear(&dst.Linear2, &src.Linear2)
	for _, p := range [][2]*model.LayerNorm{{&dst.Norm1, &src.Norm1}, {&dst.Norm2, &src.Norm2}} {
		copy(p[0].Weight, p[1].Weight)
		copy(p[0].Bias, p[1].Bias)
	}
}
