package model

import (
	"fmt"
	"strconv"
)

// Linear is a dense layer y = W x + b with W of shape [Out, In] in row-major
// order. Bias is nil for the bias-free 1x1 projections.
type Linear struct {
	In, Out int
	Weight  []float32
	Bias    []float32
}

// LayerNorm holds the affine parameters of a layer normalisation.
type LayerNorm struct {
	Weight, Bias []float32
}

// BatchNorm holds the affine parameters and running statistics of a
// BatchNorm1d over the feature channel.
type BatchNorm struct {
	Weight, Bias, RunningMean, RunningVar []float32
}

// EncoderLayer is one pre-LN Transformer encoder layer (PyTorch
// TransformerEncoderLayer with norm_first=True, ReLU, no mask).
type EncoderLayer struct {
	InProj  Linear // fused Q/K/V: [3·E, E] with bias
	OutProj Linear // [E, E] with bias
	Linear1 Linear // [4E, E]
	Linear2 Linear // [E, 4E]
	Norm1   LayerNorm
	Norm2   LayerNorm
}

// Branch is one unimodal encoder: optional BatchNorm (audio and vision), a
// bias-free 1x1 projection to EmbedDim, and the encoder layers.
type Branch struct {
	Norm   *BatchNorm
	Proj   Linear
	Layers []EncoderLayer
}

// Head is a residual classifier head (cmc-model.md §2.3):
// logits = Out(Proj2(ReLU(Proj1 h)) + h).
type Head struct {
	Proj1, Proj2, Out Linear
}

// Weights holds every parameter and buffer of the multimodal CMC model.
type Weights struct {
	Branches [Experts]Branch
	Heads    [Experts]Head
	Router   Linear
}

// Param is one named tensor of the model, under its PyTorch state_dict name.
// Data aliases the model's memory, so writing to it changes the model.
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	// Buffer marks BatchNorm running statistics: state, not trained parameters.
	Buffer bool
}

// branchPrefixes are the reference attribute suffixes of the three branches.
var branchPrefixes = [Experts]string{"l", "a", "v"}

func newLinear(in, out int, bias bool) Linear {
	l := Linear{In: in, Out: out, Weight: make([]float32, in*out)}
	if bias {
		l.Bias = make([]float32, out)
	}
	return l
}

func newLayerNorm(n int) LayerNorm {
	ln := LayerNorm{Weight: make([]float32, n), Bias: make([]float32, n)}
	for i := range ln.Weight {
		ln.Weight[i] = 1
	}
	return ln
}

// NewWeights allocates the parameters for cfg with PyTorch's constant
// initial values (LayerNorm and BatchNorm γ = 1, running variance 1, the
// rest 0). Training code fills the random initialisation.
func NewWeights(cfg *Config) *Weights {
	e, ff := cfg.EmbedDim, cfg.FeedForward()
	w := &Weights{Router: newLinear(e, Experts, true)}
	for _, m := range Modalities {
		b := &w.Branches[m]
		d := cfg.Dims.Get(m)
		if m != Text {
			bn := &BatchNorm{
				Weight: make([]float32, d), Bias: make([]float32, d),
				RunningMean: make([]float32, d), RunningVar: make([]float32, d),
			}
			for i := range bn.Weight {
				bn.Weight[i], bn.RunningVar[i] = 1, 1
			}
			b.Norm = bn
		}
		b.Proj = newLinear(d, e, false)
		b.Layers = make([]EncoderLayer, cfg.Layers)
		for i := range b.Layers {
			b.Layers[i] = EncoderLayer{
				InProj: newLinear(e, 3*e, true), OutProj: newLinear(e, e, true),
				Linear1: newLinear(e, ff, true), Linear2: newLinear(ff, e, true),
				Norm1: newLayerNorm(e), Norm2: newLayerNorm(e),
			}
		}
		w.Heads[m] = Head{Proj1: newLinear(e, e, true), Proj2: newLinear(e, e, true), Out: newLinear(e, Classes, true)}
	}
	return w
}

// Params lists every tensor under its reference state_dict name, in a fixed
// order (branches, heads, router). The Data slices alias w.
func (w *Weights) Params() []Param {
	var ps []Param
	vec := func(name string, d []float32, buffer bool) {
		ps = append(ps, Param{Name: name, Shape: []int{len(d)}, Data: d, Buffer: buffer})
	}
	lin := func(name string, l *Linear) {
		ps = append(ps, Param{Name: name + ".weight", Shape: []int{l.Out, l.In}, Data: l.Weight})
		if l.Bias != nil {
			vec(name+".bias", l.Bias, false)
		}
	}
	for m := range w.Branches {
		b := &w.Branches[m]
		p := branchPrefixes[m]
		if b.Norm != nil {
			vec("norm_"+p+".weight", b.Norm.Weight, false)
			vec("norm_"+p+".bias", b.Norm.Bias, false)
			vec("norm_"+p+".running_mean", b.Norm.RunningMean, true)
			vec("norm_"+p+".running_var", b.Norm.RunningVar, true)
		}
		// The projection is a kernel-1 Conv1d: weight [Out, In, 1].
		ps = append(ps, Param{Name: "proj_" + p + ".weight", Shape: []int{b.Proj.Out, b.Proj.In, 1}, Data: b.Proj.Weight})
		for i := range b.Layers {
			l := &b.Layers[i]
			pre := "encoder_" + p + ".layers." + strconv.Itoa(i) + "."
			ps = append(ps,
				Param{Name: pre + "self_attn.in_proj_weight", Shape: []int{l.InProj.Out, l.InProj.In}, Data: l.InProj.Weight},
				Param{Name: pre + "self_attn.in_proj_bias", Shape: []int{l.InProj.Out}, Data: l.InProj.Bias})
			lin(pre+"self_attn.out_proj", &l.OutProj)
			lin(pre+"linear1", &l.Linear1)
			lin(pre+"linear2", &l.Linear2)
			vec(pre+"norm1.weight", l.Norm1.Weight, false)
			vec(pre+"norm1.bias", l.Norm1.Bias, false)
			vec(pre+"norm2.weight", l.Norm2.Weight, false)
			vec(pre+"norm2.bias", l.Norm2.Bias, false)
		}
	}
	for k := range w.Heads {
		h := &w.Heads[k]
		lin(fmt.Sprintf("proj1s.%d", k), &h.Proj1)
		lin(fmt.Sprintf("proj2s.%d", k), &h.Proj2)
		lin(fmt.Sprintf("out_layers.%d", k), &h.Out)
	}
	lin("router.linear", &w.Router)
	return ps
}
