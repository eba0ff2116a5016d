package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

// SyntheticMOSI returns n random clips with the CMU-MOSI tensor shapes of
// cmc-model.md §1.2 (text 50×768, audio 375×5, vision 500×20), for timing
// training: features drawn from the standard normal distribution, without
// padding (with dropout in the encoders every position costs the same),
// regression labels drawn from the integers in [-3, 3], ids "clip00000",
// "clip00001", ... and empty transcripts. The same n and seed give the same
// split.
func SyntheticMOSI(n int, seed uint64) *mmsa.Split {
	rng := rand.New(rand.NewPCG(seed, 9))
	s := &mmsa.Split{Text: mmsa.Tensor3{N: n, L: 50, D: 768}, Audio: mmsa.Tensor3{N: n, L: 375, D: 5},
		Vision: mmsa.Tensor3{N: n, L: 500, D: 20}, Regression: make([]float32, n),
		IDs: make([]string, n), RawText: make([]string, n)}
	for _, t := range []*mmsa.Tensor3{&s.Text, &s.Audio, &s.Vision} {
		t.Data = make([]float32, t.N*t.L*t.D)
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
	}
	for i := range n {
		s.IDs[i] = fmt.Sprintf("clip%05d", i)
		s.Regression[i] = float32(rng.IntN(7) - 3)
	}
	return s
}
