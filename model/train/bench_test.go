package train

import (
	"context"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/model"
)

func mosiRunner(b *testing.B, n int) (*runner, *Engine, *Adam) {
	b.Helper()
	s := Settings{Model: model.Config{Convention: "mosi", Layers: 2, Heads: 4, OutDropout: 0.5}, Seed: 1}
	split := SyntheticMOSI(n, 1)
	if err := s.normalize(split); err != nil {
		b.Fatal(err)
	}
	tr, err := prepare("train", split, &s.Model, false)
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(s.Model)
	if err != nil {
		b.Fatal(err)
	}
	InitWeights(m.Weights, 1)
	r := &runner{s: s, train: tr}
	eng, err := NewEngine(m, r.engineOptions("mosi", 1))
	if err != nil {
		b.Fatal(err)
	}
	opt, err := NewAdam(m.Weights, AdamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return r, eng, opt
}

func stage2Step(r *runner, eng *Engine, opt *Adam) func(idx []int) (float64, error) {
	return func(idx []int) (float64, error) {
		lab := Labels{M: make([]int, len(idx))}
		for i, j := range idx {
			lab.M[i] = r.train.m[j]
		}
		for k := range lab.Uni {
			lab.Uni[k] = lab.M
		}
		l, err := eng.Stage2(&r.in, &lab, r.step)
		r.step++
		if err != nil {
			return 0, err
		}
		return l.Total, opt.Step(eng.Grads())
	}
}

// BenchmarkStage2Batch times one stage-2 training step (forward, backward,
// Adam) on a MOSI-shaped batch of 64 clips with 2 layers and 4 heads. It
// also reports the process CPU time per step (cpu-s/op), which on a shared
// machine says more than the wall time.
func BenchmarkStage2Batch(b *testing.B) {
	r, eng, opt := mosiRunner(b, DefaultBatchSize)
	step := stage2Step(r, eng, opt)
	idx := make([]int, DefaultBatchSize)
	for i := range idx {
		idx[i] = i
	}
	gather(&r.in, r.train.split, idx)
	cpu := cputime.Seconds()
	for b.Loop() {
		if _, err := step(idx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cputime.Seconds()-cpu)/float64(b.N), "cpu-s/op")
}

// BenchmarkStage2EpochMOSI times one stage-2 training epoch over 1284
// MOSI-shaped clips (the MOSI train split size, 21 batches of 64) with 2
// layers, 4 heads and 2 threads. Run it with -benchtime=1x.
func BenchmarkStage2EpochMOSI(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates 260 MB of features")
	}
	r, eng, opt := mosiRunner(b, 1284)
	rng := newRand(1, 4)
	cpu := cputime.Seconds()
	for b.Loop() {
		if _, err := r.trainEpoch(context.Background(), rng, stage2Step(r, eng, opt)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cputime.Seconds()-cpu)/float64(b.N), "cpu-s/op")
}
