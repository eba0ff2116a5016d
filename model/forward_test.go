package model

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

const fixturePath = "../testdata/cmc-reference/mosi-small.safetensors"

// loadFixture builds the model of the reference fixture (torch 1.13 outputs
// of the reference CMC modules, testdata/cmc-reference/README.md) and its
// input batch.
func loadFixture(t testing.TB) (*Model, *Input, *safetensors.File) {
	t.Helper()
	f, err := safetensors.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Layers  int         `json:"transformer_layers"`
		Heads   int         `json:"nhead"`
		Embed   int         `json:"embed_dim"`
		Temp    float64     `json:"temperature"`
		Lengths PerModality `json:"lengths"`
		Dims    PerModality `json:"dims"`
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &meta); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Convention: "mosi", EmbedDim: meta.Embed, Layers: meta.Layers, Heads: meta.Heads,
		Temperature: meta.Temp, Dims: meta.Dims, Lengths: meta.Lengths})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadTensors(f, "weight."); err != nil {
		t.Fatal(err)
	}
	var in Input
	for _, mod := range Modalities {
		name := map[Modality]string{Text: "input.text", Audio: "input.audio", Vision: "input.vision"}[mod]
		x := f.Tensors[name]
		in[mod] = Sequence{Batch: x.Shape[0], Len: x.Shape[1], Dim: x.Shape[2], Data: x.Data}
	}
	return m, &in, f
}

func assertClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol || math.IsNaN(d) {
			t.Errorf("%s[%d] = %.7g, want %.7g (|diff| %.2g > %.0g)", name, i, got[i], want[i], d, tol)
			return
		}
	}
}

// TestReferenceParity checks every eval-mode output of the reference
// fixture to 1e-5 absolute, on the plain and the padding-shortcut paths and
// with one and two threads.
func TestReferenceParity(t *testing.T) {
	m, in, f := loadFixture(t)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"shortcut", Options{}},
		{"plain", Options{Plain: true}},
		{"shortcut-2-threads", Options{Threads: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out Output
			if err := NewInferencer(m, tc.opts).Forward(in, &out); err != nil {
				t.Fatal(err)
			}
			assertClose(t, "eval.pred", out.Logits, f.Tensors["eval.pred"].Data, 1e-5)
			assertClose(t, "eval.pred_t", out.ExpertLogits[Text], f.Tensors["eval.pred_t"].Data, 1e-5)
			assertClose(t, "eval.pred_a", out.ExpertLogits[Audio], f.Tensors["eval.pred_a"].Data, 1e-5)
			assertClose(t, "eval.pred_v", out.ExpertLogits[Vision], f.Tensors["eval.pred_v"].Data, 1e-5)
			assertClose(t, "eval.h_l", out.Embeddings[Text], f.Tensors["eval.h_l"].Data, 1e-5)
			assertClose(t, "eval.h_a", out.Embeddings[Audio], f.Tensors["eval.h_a"].Data, 1e-5)
			assertClose(t, "eval.h_v", out.Embeddings[Vision], f.Tensors["eval.h_v"].Data, 1e-5)
		})
	}
}
