//go:build cgo && !noort

package onnxexport

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

const fixturePath = "../../testdata/cmc-reference/mosi-small.safetensors"

// TestDemoBundleMatchesGo exports the demo bundle and checks every output
// of ONNX Runtime against model.Inferencer (itself checked against the
// reference fixture in package model) to 1e-5, at two batch sizes and two
// sets of sequence lengths through one session (dynamic axes).
func TestDemoBundleMatchesGo(t *testing.T) {
	m, err := model.Load("../../demo/model")
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, m)
	full := lengths(&m.Config)
	checkBatch(t, s, m, cropped(model.SyntheticInput(&m.Config, 3, 0.6, 7), full))
	checkBatch(t, s, m, cropped(model.SyntheticInput(&m.Config, 1, 1, 8), [3]int{17, 100, 13}))
	checkBatch(t, s, m, cropped(model.SyntheticInput(&m.Config, 5, 0.5, 9), [3]int{50, 201, 31}))
}

// TestTopKMatchesGo exports the demo bundle with a router that keeps two
// experts, so the graph's TopK mask runs, and checks it against Go.
func TestTopKMatchesGo(t *testing.T) {
	m, err := model.Load("../../demo/model")
	if err != nil {
		t.Fatal(err)
	}
	m.Config.TopK = 2
	s := session(t, m)
	checkBatch(t, s, m, model.SyntheticInput(&m.Config, 6, 0.7, 3))
}

// TestSIMSBundleMatchesGo builds a 5-layer model of the SIMS shapes
// (text 39x768, audio 400x33, vision 55x709) from the reference fixture's
// weights and inputs (each tensor filled by cycling the fixture tensor of
// the same role; layer i takes fixture layer i mod 2), exports it, and
// checks ONNX Runtime against Go to 1e-5 at batch 2 (full lengths, with
// the fixture's zero padding) and batch 5 (shorter sequences).
func TestSIMSBundleMatchesGo(t *testing.T) {
	f, err := safetensors.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Presets["sims"].Config())
	if err != nil {
		t.Fatal(err)
	}
	layer := regexp.MustCompile(`\.layers\.(\d+)\.`)
	for _, p := range m.Weights.Params() {
		name := layer.ReplaceAllStringFunc(p.Name, func(s string) string {
			i, _ := strconv.Atoi(layer.FindStringSubmatch(s)[1])
			return ".layers." + strconv.Itoa(i%2) + "."
		})
		src, ok := f.Tensors["weight."+name]
		if !ok {
			t.Fatalf("fixture has no tensor %q for %q", "weight."+name, p.Name)
		}
		for i := range p.Data {
			p.Data[i] = src.Data[i%len(src.Data)]
		}
	}
	s := session(t, m)
	fixtureInput := func(batch int, lens [3]int) *model.Input {
		var x model.Input
		for i, name := range []string{"input.text", "input.audio", "input.vision"} {
			src := f.Tensors[name]
			rows, dim := src.Shape[0]*src.Shape[1], src.Shape[2]
			d := m.Config.Dims.Get(model.Modality(i))
			seq := model.Sequence{Batch: batch, Len: lens[i], Dim: d, Data: make([]float32, batch*lens[i]*d)}
			for r := range batch * lens[i] {
				from := src.Data[(r%rows)*dim : (r%rows+1)*dim]
				for j := range d {
					seq.Data[r*d+j] = from[j%dim]
				}
			}
			x[i] = seq
		}
		return &x
	}
	checkBatch(t, s, m, fixtureInput(2, lengths(&m.Config)))
	checkBatch(t, s, m, fixtureInput(5, [3]int{30, 250, 41}))
}

// session exports m and opens it in ONNX Runtime with 2 threads.
func session(t *testing.T, m *model.Model) *onnx.Session {
	t.Helper()
	raw, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnx.Init(envconfig.Resolve(envconfig.Native{}).ORTLibrary); err != nil {
		t.Fatal(err)
	}
	s, err := onnx.Open("", raw, Inputs[:], Outputs, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func lengths(cfg *model.Config) [3]int {
	return [3]int{cfg.Lengths.Text, cfg.Lengths.Audio, cfg.Lengths.Vision}
}

// cropped returns x with each modality cut to the given length.
func cropped(x *model.Input, lens [3]int) *model.Input {
	var y model.Input
	for i, s := range x {
		c := model.Sequence{Batch: s.Batch, Len: lens[i], Dim: s.Dim}
		for b := range s.Batch {
			c.Data = append(c.Data, s.Data[b*s.Len*s.Dim:(b*s.Len+lens[i])*s.Dim]...)
		}
		y[i] = c
	}
	return &y
}

// checkBatch runs x through ONNX Runtime and the Go engine and compares
// every output to 1e-5 absolute.
func checkBatch(t *testing.T, s *onnx.Session, m *model.Model, x *model.Input) {
	t.Helper()
	var want model.Output
	if err := model.NewInferencer(m, model.Options{Threads: 2}).Forward(x, &want); err != nil {
		t.Fatal(err)
	}
	var in []onnx.Tensor
	for _, seq := range x {
		in = append(in, onnx.Tensor{Shape: []int64{int64(seq.Batch), int64(seq.Len), int64(seq.Dim)}, F32: seq.Data})
	}
	got, err := s.Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	b, e := x[0].Batch, m.Config.EmbedDim
	var experts, emb []float32
	for i := range b {
		for k := range model.Experts {
			experts = append(experts, want.ExpertLogits[k][i*model.Classes:(i+1)*model.Classes]...)
			emb = append(emb, want.Embeddings[k][i*e:(i+1)*e]...)
		}
	}
	wants := [][]float32{want.Logits, experts, want.Router, emb, want.Similarity}
	shapes := [][]int64{{int64(b), 3}, {int64(b), 3, 3}, {int64(b), 3}, {int64(b), 3, int64(e)}, {int64(b), 3, 3}}
	label := fmt.Sprintf("batch %d, lengths %d/%d/%d", b, x[0].Len, x[1].Len, x[2].Len)
	for i, name := range Outputs {
		if fmt.Sprint(got[i].Shape) != fmt.Sprint(shapes[i]) {
			t.Errorf("%s: %s shape %v, want %v", label, name, got[i].Shape, shapes[i])
			continue
		}
		for j, v := range got[i].F32 {
			if d := math.Abs(float64(v - wants[i][j])); d > 1e-5 || math.IsNaN(d) {
				t.Errorf("%s: %s[%d] = %.7g from ONNX Runtime, %.7g from Go (|diff| %.2g > 1e-5)", label, name, j, v, wants[i][j], d)
				break
			}
		}
	}
}
