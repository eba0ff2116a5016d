package train_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/train"
)

// ExampleEngine trains a tiny CMC model for a few Adam steps on one
// random batch and shows that the stage-2 loss falls.
func ExampleEngine() {
	m, err := model.New(model.Config{Convention: "mosi", Layers: 1, Heads: 2,
		Dims: model.PerModality{Text: 8, Audio: 3, Vision: 4}, Lengths: model.PerModality{Text: 5, Audio: 6, Vision: 4}})
	if err != nil {
		panic(err)
	}
	train.InitWeights(m.Weights, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var in model.Input
	for _, mod := range model.Modalities {
		l, d := m.Config.Lengths.Get(mod), m.Config.Dims.Get(mod)
		in[mod] = model.Sequence{Batch: 8, Len: l, Dim: d, Data: make([]float32, 8*l*d)}
		for i := range in[mod].Data {
			in[mod].Data[i] = float32(rng.NormFloat64())
		}
	}
	lab := &train.Labels{M: []int{0, 1, 2, 2, 0, 1, 2, 0}}
	for k := range lab.Uni {
		lab.Uni[k] = lab.M
	}
	eng, err := train.NewEngine(m, train.EngineOptions{Seed: 1})
	if err != nil {
		panic(err)
	}
	opt, err := train.NewAdam(m.Weights, train.AdamConfig{LR: 1e-2})
	if err != nil {
		panic(err)
	}
	var first, last train.Losses
	for step := range 30 {
		l, err := eng.Stage2(&in, lab, uint64(step))
		if err != nil {
			panic(err)
		}
		if step == 0 {
			first = l
		}
		last = l
		if err := opt.Step(eng.Grads()); err != nil {
			panic(err)
		}
	}
	fmt.Println("loss fell by more than half:", last.Total < first.Total/2)
	// Output: loss fell by more than half: true
}
