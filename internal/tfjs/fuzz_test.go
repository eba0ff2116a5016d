package tfjs

import (
	"testing"
)

// FuzzConvert feeds arbitrary model.json bytes and shard bytes to Convert:
// it must return a model or an error, never panic, and a model must have
// at least one output.
func FuzzConvert(f *testing.F) {
	x := tinyNode{name: "x", op: "Placeholder", shape: []int64{1, 4, 4, 1}}
	w := tinyNode{name: "w", op: "Const", weight: make([]float32, 9), wshape: []int64{3, 3, 1, 1}}
	for _, nodes := range [][]tinyNode{
		{x, w, {name: "y", op: "_FusedConv2D", inputs: []string{"x", "w", "w"}, fused: []string{"BiasAdd"}, padding: "SAME"}},
		{x, {name: "y", op: "Softmax", inputs: []string{"x"}}},
		{x, {name: "y", op: "AddV2", inputs: []string{"x", "x"}}},
	} {
		m, shard := tinyModel(f, nodes)
		f.Add(m, shard)
	}
	f.Add([]byte(`{"weightsManifest":[{"paths":["a"],"weights":[{"name":"w","shape":[-1,4],"dtype":"float32"}]}]}`), []byte{})
	f.Fuzz(func(t *testing.T, modelJSON, shard []byte) {
		m, err := Convert(modelJSON, func(string) ([]byte, error) { return shard, nil })
		if err == nil && len(m.GetGraph().GetOutput()) == 0 {
			t.Error("converted model has no outputs")
		}
	})
}
