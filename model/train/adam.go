package train

import (
	"fmt"
	"math"

	"github.com/cmc-stream/cmc-stream/model"
)

// AdamConfig holds the hyperparameters of Adam (Kingma & Ba, arXiv
// 1412.6980) as torch.optim.Adam defines them. Zero values select the
// PyTorch defaults noted per field (cmc-model.md §5.2).
type AdamConfig struct {
	// LR is the learning rate (default 1e-3).
	LR float64
	// Beta1 and Beta2 are the moment decay rates (defaults 0.9 and 0.999).
	Beta1, Beta2 float64
	// Eps is added to the denominator (default 1e-8).
	Eps float64
	// WeightDecay is the coupled L2 coefficient: the gradient gains
	// WeightDecay·θ before the moments are updated (default 0).
	WeightDecay float64
}

func (c *AdamConfig) normalize() error {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	if !(c.LR > 0) || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || !(c.Eps > 0) || c.WeightDecay < 0 {
		return fmt.Errorf("train: invalid Adam settings %+v", *c)
	}
	return nil
}

// Adam updates the trainable parameters of one model.Weights with Adam in
// PyTorch's formulation: bias-corrected moments, the step
// θ ← θ − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε), BatchNorm buffers skipped.
// It is not safe for concurrent use.
type Adam struct {
	cfg    AdamConfig
	params []model.Param
	m, v   [][]float32
	step   int
}

// NewAdam returns an optimiser for the parameters of w (buffers are
// skipped). w must keep its layout while the optimiser is in use.
func NewAdam(w *model.Weights, cfg AdamConfig) (*Adam, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	a := &Adam{cfg: cfg}
	for _, p := range w.Params() {
		if p.Buffer {
			continue
		}
		a.params = append(a.params, p)
		a.m = append(a.m, make([]float32, len(p.Data)))
		a.v = append(a.v, make([]float32, len(p.Data)))
	}
	return a, nil
}

// Steps returns the number of steps taken.
func (a *Adam) Steps() int { return a.step }

// Step applies one update from grads, which must have the layout of the
// optimised weights (the Engine's Grads).
func (a *Adam) Step(grads *model.Weights) error {
	var gs []model.Param
	for _, p := range grads.Params() {
		if !p.Buffer {
			gs = append(gs, p)
		}
	}
	if len(gs) != len(a.params) {
		return fmt.Errorf("train: Adam: %d gradient tensors for %d parameters", len(gs), len(a.params))
	}
	for i, g := range gs {
		if g.Name != a.params[i].Name || len(g.Data) != len(a.params[i].Data) {
			return fmt.Errorf("train: Adam: gradient %q does not match parameter %q", g.Name, a.params[i].Name)
		}
	}
	a.step++
	c := &a.cfg
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	stepSize := float32(c.LR / (1 - math.Pow(c.Beta1, float64(a.step))))
	invBC2 := float32(1 / math.Sqrt(1-math.Pow(c.Beta2, float64(a.step))))
	eps, wd := float32(c.Eps), float32(c.WeightDecay)
	for i, p := range a.params {
		m, v, g := a.m[i], a.v[i], gs[i].Data
		for j, theta := range p.Data {
			gj := g[j]
			if wd != 0 {
				gj += wd * theta
			}
			m[j] = m[j]*b1 + gj*(1-b1)
			v[j] = v[j]*b2 + gj*gj*(1-b2)
			denom := float32(math.Sqrt(float64(v[j])))*invBC2 + eps
			p.Data[j] = theta - stepSize*m[j]/denom
		}
	}
	return nil
}
