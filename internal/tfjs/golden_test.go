//go:build cgo && !noort

package tfjs

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
	"google.golang.org/protobuf/proto"
)

// goldens are the outputs of the original TF.js model, written by
// scripts/make-vision-goldens/make-goldens.mjs (@tensorflow/tfjs 4.22.0,
// CPU backend).
type goldens struct {
	Model struct {
		SHA256 string `json:"sha256"`
	} `json:"model"`
	Patterns []struct {
		Name      string    `json:"name"`
		PixelsB64 string    `json:"pixels_b64"`
		Probs     []float32 `json:"probs"`
	} `json:"patterns"`
	PatternsBatched []float32 `json:"patterns_batched"`
}

// session converts and opens a model in ONNX Runtime.
func session(t *testing.T, m []byte, inputs, outputs []string) *onnx.Session {
	t.Helper()
	if err := onnx.Init(envconfig.Resolve(envconfig.Native{}).ORTLibrary); err != nil {
		t.Fatal(err)
	}
	s, err := onnx.Open("", m, inputs, outputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestEmotionGoldens converts the mini-Xception expression model and
// checks ONNX Runtime's outputs against TF.js's on the golden inputs, one
// at a time and as a batch. Tolerance 2e-6: float32 convolutions summed
// in a different order.
func TestEmotionGoldens(t *testing.T) {
	b, err := os.ReadFile("../../testdata/vision/emotion_goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	m, err := ConvertFile(filepath.Join(envconfig.Resolve(envconfig.Native{}).AssetsDir, "models", "emotion.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, data, []string{"input_1"}, []string{"Identity"})
	var batch []float32
	for _, p := range g.Patterns {
		px, err := base64.StdEncoding.DecodeString(p.PixelsB64)
		if err != nil || len(px) != 64*64 {
			t.Fatalf("%s: %d pixels, %v", p.Name, len(px), err)
		}
		x := make([]float32, len(px))
		for i, v := range px {
			x[i] = (float32(v)/255 - 0.5) * 2
		}
		batch = append(batch, x...)
		out, err := s.Run(onnx.Tensor{Shape: []int64{1, 64, 64, 1}, F32: x})
		if err != nil {
			t.Fatal(err)
		}
		near(t, p.Name, out[0].F32, p.Probs, 2e-6)
	}
	out, err := s.Run(onnx.Tensor{Shape: []int64{int64(len(g.Patterns)), 64, 64, 1}, F32: batch})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "batch", out[0].F32, g.PatternsBatched, 2e-6)
}

func near(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol || math.IsNaN(d) {
			t.Errorf("%s[%d] = %v, want %v (TF.js) ± %g", name, i, got[i], want[i], tol)
		}
	}
}

// TestConvLayout runs a hand-made graph with an analytic result: a 1x1
// Conv2D from 2 to 3 channels with fused bias and ReLU on a 1x2x2x2 NHWC
// input, out[o] = relu(sum_i x[i] w[i][o] + b[o]); it pins the HWIO filter
// order and the NHWC transposes at both ends.
func TestConvLayout(t *testing.T) {
	w := []float32{1, 2, 3, -1, 0, 1} // w[i][o], HWIO with H=W=1
	bias := []float32{0, -10, 0.5}
	m, shards := tinyModel(t, []tinyNode{
		{name: "x", op: "Placeholder", shape: []int64{1, 2, 2, 2}},
		{name: "w", op: "Const", weight: w, wshape: []int64{1, 1, 2, 3}},
		{name: "b", op: "Const", weight: bias, wshape: []int64{3}},
		{name: "y", op: "_FusedConv2D", inputs: []string{"x", "w", "b"}, fused: []string{"BiasAdd", "Relu"}, padding: "VALID"},
	})
	pm, err := Convert(m, func(string) ([]byte, error) { return shards, nil })
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(pm)
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, data, []string{"x"}, []string{"y"})
	x := []float32{1, 2, 3, 4, -1, 0, 0.5, 0.25} // 4 pixels of 2 channels
	out, err := s.Run(onnx.Tensor{Shape: []int64{1, 2, 2, 2}, F32: x})
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	for p := range 4 {
		for o := range 3 {
			v := x[2*p]*w[o] + x[2*p+1]*w[3+o] + bias[o]
			want = append(want, max(v, 0))
		}
	}
	near(t, "y", out[0].F32, want, 1e-6)
}
