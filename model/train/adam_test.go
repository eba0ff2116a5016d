package train

import (
	"math"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
)

// TestAdamAnalytic checks two steps against the closed form of Adam's
// bias-corrected update with coupled weight decay, computed in float64.
func TestAdamAnalytic(t *testing.T) {
	cfg := model.Config{Convention: "sims", Layers: 1, Heads: 1, Dims: model.PerModality{Text: 2, Audio: 2, Vision: 2},
		Lengths: model.PerModality{Text: 1, Audio: 1, Vision: 1}}
	for _, tc := range []struct {
		name string
		wd   float64
	}{{"no-decay", 0}, {"decay", 0.1}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := m.Weights.Router.Weight
			p[0], p[1] = 0.5, -2
			grads := model.NewWeights(&m.Config)
			zeroWeights(grads)
			opt, err := NewAdam(m.Weights, AdamConfig{LR: 0.01, WeightDecay: tc.wd})
			if err != nil {
				t.Fatal(err)
			}
			theta := []float64{0.5, -2}
			var mom, vel [2]float64
			for step, g := range [][2]float64{{0.3, -1e-3}, {-0.2, 4}} {
				grads.Router.Weight[0], grads.Router.Weight[1] = float32(g[0]), float32(g[1])
				if err := opt.Step(grads); err != nil {
					t.Fatal(err)
				}
				n := float64(step + 1)
				for i := range theta {
					gi := g[i] + tc.wd*theta[i]
					mom[i] = 0.9*mom[i] + 0.1*gi
					vel[i] = 0.999*vel[i] + 0.001*gi*gi
					mh, vh := mom[i]/(1-math.Pow(0.9, n)), vel[i]/(1-math.Pow(0.999, n))
					theta[i] -= 0.01 * mh / (math.Sqrt(vh) + 1e-8)
					if d := math.Abs(float64(p[i]) - theta[i]); d > 1e-6 {
						t.Errorf("step %d param %d = %.8g, want %.8g", step+1, i, p[i], theta[i])
					}
				}
			}
			if opt.Steps() != 2 {
				t.Errorf("Steps() = %d, want 2", opt.Steps())
			}
		})
	}
}

func TestAdamErrors(t *testing.T) {
	cfg := model.Config{Convention: "sims", Layers: 1, Heads: 1, Dims: model.PerModality{Text: 2, Audio: 2, Vision: 2},
		Lengths: model.PerModality{Text: 1, Audio: 1, Vision: 1}}
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  AdamConfig
	}{{"negative-lr", AdamConfig{LR: -1}}, {"beta1-one", AdamConfig{Beta1: 1}}, {"negative-decay", AdamConfig{WeightDecay: -1}}} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewAdam(m.Weights, tc.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
	opt, err := NewAdam(m.Weights, AdamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	other := model.Config{Convention: "sims", Layers: 2, Heads: 1, Dims: cfg.Dims, Lengths: cfg.Lengths}
	m2, err := model.New(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(m2.Weights); err == nil {
		t.Fatal("Step with a different layout: no error")
	}
}
