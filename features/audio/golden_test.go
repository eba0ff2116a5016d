package audio

import (
	"encoding/json"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// The goldens are librosa 0.10.1 outputs (testdata/librosa/README.md).
const (
	goldenTensors = "../../testdata/librosa/librosa_shared.safetensors"
	goldenParams  = "../../testdata/librosa/librosa_params.json"
)

// sharedSignals are the signals of librosa_shared.safetensors.
var sharedSignals = []string{
	"sine440_sr16000", "chirp_sr16000", "sine440_sr22050",
	"chirp_sr22050", "speech0880_sr16000", "speech0880_sr22050",
}

type goldenSignal struct {
	SampleRate   int     `json:"sr"`
	Samples      int     `json:"n_samples"`
	TuningSTFT   float64 `json:"tuning_chroma_stft"`
	TuningCQT    float64 `json:"tuning_chroma_cqt"`
	FramesHop512 int     `json:"n_frames_hop512"`
}

var loadGoldens = sync.OnceValues(func() (*safetensors.File, map[string]goldenSignal) {
	f, err := safetensors.ReadFile(goldenTensors)
	if err != nil {
		panic(err)
	}
	raw, err := os.ReadFile(goldenParams)
	if err != nil {
		panic(err)
	}
	var params struct {
		Signals map[string]goldenSignal `json:"signals"`
	}
	if err := json.Unmarshal(raw, &params); err != nil {
		panic(err)
	}
	return f, params.Signals
})

// golden returns tensor <signal>/<name> of the librosa goldens.
func golden(t testing.TB, signal, name string) *safetensors.Tensor {
	t.Helper()
	f, _ := loadGoldens()
	g, ok := f.Tensors[signal+"/"+name]
	if !ok {
		t.Fatalf("golden %s/%s missing", signal, name)
	}
	return g
}

// goldenParamsOf returns the librosa_params.json metadata of a signal.
func goldenParamsOf(t testing.TB, signal string) goldenSignal {
	t.Helper()
	_, p := loadGoldens()
	s, ok := p[signal]
	if !ok {
		t.Fatalf("signal %s missing from %s", signal, goldenParams)
	}
	return s
}

// transpose turns a librosa (features, frames) tensor into frame-major order.
func transpose(g *safetensors.Tensor) []float32 {
	rows, cols := g.Shape[0], g.Shape[1]
	out := make([]float32, len(g.Data))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = g.Data[r*cols+c]
		}
	}
	return out
}

// maxAbsDiff returns the largest |got-want| and the largest |want|.
func maxAbsDiff[T, U float32 | float64](got []T, want []U) (diff, peak float64) {
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		peak = math.Max(peak, math.Abs(float64(want[i])))
	}
	return diff, peak
}

// columns extracts columns [from, to) of a frame-major matrix with width cols.
func columns(data []float32, cols, from, to int) []float32 {
	var out []float32
	for r := 0; r < len(data)/cols; r++ {
		out = append(out, data[r*cols+from:r*cols+to]...)
	}
	return out
}

// forEachSignal runs check in a parallel subtest per shared golden signal,
// with the signal's waveform.
func forEachSignal(t *testing.T, check func(t *testing.T, signal string, y []float32)) {
	t.Helper()
	t.Parallel()
	for _, sig := range sharedSignals {
		t.Run(sig, func(t *testing.T) {
			t.Parallel()
			check(t, sig, golden(t, sig, "y").Data)
		})
	}
}
