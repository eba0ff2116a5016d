package model

import (
	"math"
	"math/rand/v2"
	"strings"
)

// Randomize fills w with seeded random values at the scale of PyTorch's
// default initialisation (uniform in ±1/√fan_in, cmc-model.md §2.4), with
// running variances in [0.5, 1.5) and running means in ±1/√fan_in. It is
// for benchmarks and tests, where the values only need to be plausible;
// training uses its own initialisation.
func (w *Weights) Randomize(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x636d63))
	for _, p := range w.Params() {
		fan := p.Shape[len(p.Shape)-1]
		if len(p.Shape) == 3 { // Conv1d weight [Out, In, 1]
			fan = p.Shape[1]
		}
		bound := 1 / math.Sqrt(float64(fan))
		for i := range p.Data {
			p.Data[i] = float32((rng.Float64()*2 - 1) * bound)
		}
		if strings.HasSuffix(p.Name, "running_var") {
			for i := range p.Data {
				p.Data[i] = float32(0.5 + rng.Float64())
			}
		}
	}
}

// Preset is a named model shape from the reference configurations
// (cmc-model.md §1.2 and §5.4).
type Preset struct {
	Name       string
	Convention string
	Layers     int
	Heads      int
	OutDropout float64
	Dims       PerModality
	Lengths    PerModality
}

// Presets are the reference CMC configurations per dataset.
var Presets = map[string]Preset{
	"mosi":  {"mosi", "mosi", 2, 4, 0.5, PerModality{768, 5, 20}, PerModality{50, 375, 500}},
	"mosei": {"mosei", "mosi", 2, 4, 0.0, PerModality{768, 74, 35}, PerModality{50, 500, 500}},
	"sims":  {"sims", "sims", 5, 4, 0.4, PerModality{768, 33, 709}, PerModality{39, 400, 55}},
	"sims2": {"sims2", "sims", 4, 2, 0.3, PerModality{768, 25, 177}, PerModality{50, 925, 232}},
}

// GTPresets are the reference CMC-GT configurations, trained on the
// dataset's unimodal labels instead of PLGM pseudo labels; they exist for
// the CH-SIMS layouts only (cmc-model.md §5.4: CH-SIMS 1 layer, 2 heads,
// out_dropout 0.1; CH-SIMS v2 4 layers, 8 heads, 0.1).
var GTPresets = map[string]Preset{
	"sims":  {"sims-gt", "sims", 1, 2, 0.1, PerModality{768, 33, 709}, PerModality{39, 400, 55}},
	"sims2": {"sims2-gt", "sims", 4, 8, 0.1, PerModality{768, 25, 177}, PerModality{50, 925, 232}},
}

// Config returns a model configuration of the preset's shape.
func (p Preset) Config() Config {
	return Config{Name: "cmc-" + p.Name, Convention: p.Convention, Layers: p.Layers, Heads: p.Heads,
		OutDropout: p.OutDropout, Dims: p.Dims, Lengths: p.Lengths}
}

// SyntheticInput returns a seeded batch of the model's full lengths in which
// a fraction fill of the audio and vision frames of each sample are random
// and the rest zero padding; text rows are all random (BERT outputs differ
// by position, so text has no zero padding). For benchmarks and tests.
func SyntheticInput(cfg *Config, batch int, fill float64, seed uint64) *Input {
	rng := rand.New(rand.NewPCG(seed, 0x696e))
	var x Input
	for _, mod := range Modalities {
		l, d := cfg.Lengths.Get(mod), cfg.Dims.Get(mod)
		real := l
		if mod != Text {
			real = max(1, int(math.Round(fill*float64(l))))
		}
		s := Sequence{Batch: batch, Len: l, Dim: d, Data: make([]float32, batch*l*d)}
		for b := range batch {
			for i := range real * d {
				s.Data[b*l*d+i] = float32(rng.NormFloat64())
			}
		}
		x[mod] = s
	}
	return &x
}
