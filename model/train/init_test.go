package train

import (
	"math"
	"slices"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
)

// TestInitWeights checks PyTorch's default initialisation (cmc-model.md
// §2.4): every tensor inside its bound, zero attention biases, unit norms,
// identical encoder layers, and a spread that fills the bound (the largest
// |w| of a uniform draw of n values is within a factor 1 − 5/n of it with
// probability 1 − e⁻⁵).
func TestInitWeights(t *testing.T) {
	m, err := model.New(model.Config{Convention: "sims", Layers: 3, Heads: 4,
		Dims: model.PerModality{Text: 768, Audio: 33, Vision: 709}, Lengths: model.PerModality{Text: 39, Audio: 400, Vision: 55}})
	if err != nil {
		t.Fatal(err)
	}
	InitWeights(m.Weights, 1111)
	w := m.Weights
	e := float64(m.Config.EmbedDim)
	type check struct {
		name  string
		data  []float32
		bound float64 // 0: all zero
	}
	var checks []check
	for k := range w.Branches {
		b := &w.Branches[k]
		l := &b.Layers[0]
		checks = append(checks,
			check{"proj", b.Proj.Weight, 1 / math.Sqrt(float64(b.Proj.In))},
			check{"in_proj_weight (Xavier)", l.InProj.Weight, math.Sqrt(6 / (e + 3*e))},
			check{"in_proj_bias", l.InProj.Bias, 0},
			check{"out_proj.weight", l.OutProj.Weight, 1 / math.Sqrt(e)},
			check{"out_proj.bias", l.OutProj.Bias, 0},
			check{"linear1.weight", l.Linear1.Weight, 1 / math.Sqrt(e)},
			check{"linear2.weight", l.Linear2.Weight, 1 / math.Sqrt(4*e)},
			check{"linear2.bias", l.Linear2.Bias, 1 / math.Sqrt(4*e)},
			check{"head proj1.weight", w.Heads[k].Proj1.Weight, 1 / math.Sqrt(e)},
			check{"head out.bias", w.Heads[k].Out.Bias, 1 / math.Sqrt(e)})
		for i := 1; i < len(b.Layers); i++ {
			if !slices.Equal(b.Layers[i].Linear1.Weight, l.Linear1.Weight) || !slices.Equal(b.Layers[i].InProj.Weight, l.InProj.Weight) {
				t.Errorf("branch %d layer %d differs from layer 0", k, i)
			}
			if !slices.Equal(b.Layers[i].Norm2.Weight, l.Norm2.Weight) {
				t.Errorf("branch %d layer %d norm differs", k, i)
			}
		}
		for _, v := range l.Norm1.Weight {
			if v != 1 {
				t.Fatalf("branch %d: LayerNorm γ %v, want 1", k, v)
			}
		}
		if n := b.Norm; n != nil {
			for j := range n.Weight {
				if n.Weight[j] != 1 || n.Bias[j] != 0 || n.RunningMean[j] != 0 || n.RunningVar[j] != 1 {
					t.Fatalf("branch %d: BatchNorm entry %d not (1, 0, 0, 1)", k, j)
				}
			}
		}
	}
	checks = append(checks, check{"router.weight", w.Router.Weight, 1 / math.Sqrt(e)})
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var mx float64
			for _, v := range c.data {
				mx = math.Max(mx, math.Abs(float64(v)))
			}
			switch {
			case c.bound == 0 && mx != 0:
				t.Errorf("max |w| %v, want 0", mx)
			case mx > c.bound:
				t.Errorf("max |w| %v exceeds the bound %v", mx, c.bound)
			case c.bound > 0 && mx < c.bound*(1-5/float64(len(c.data))):
				t.Errorf("max |w| %v of %d values, want near the bound %v", mx, len(c.data), c.bound)
			}
		})
	}
}
