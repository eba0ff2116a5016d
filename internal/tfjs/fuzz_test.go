package tfjs

import (
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"
)

// allocBudget is what converting and marshalling a model of n input bytes
// (model.json and shards) may allocate: a constant for the decoder's own
// tables plus a multiple of the input. A decoder that trusts a size read
// from the input, or copies a shared weight once per use, exceeds it on the
// seeds of testdata/fuzz/FuzzConvert.
func allocBudget(n int) uint64 { return 1<<20 + 64*uint64(n) }

// FuzzConvert feeds arbitrary model.json bytes and shard bytes to Convert:
// it must return a model or an error, never panic, a model must have at
// least one output, and converting and marshalling must allocate within
// allocBudget of the input's size. A normal test run checks the seeds below
// and those of testdata/fuzz/FuzzConvert (hostile models: a scalar weight
// without bytes, shapes larger than their shards, one weight shared by a
// thousand convolutions, ...).
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
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Convert(modelJSON, func(string) ([]byte, error) { return shard, nil })
		if err == nil {
			if len(m.GetGraph().GetOutput()) == 0 {
				t.Error("converted model has no outputs")
			}
			if _, err := proto.Marshal(m); err != nil {
				t.Errorf("marshalling the converted model: %v", err)
			}
		}
		runtime.ReadMemStats(&after)
		if got, budget := after.TotalAlloc-before.TotalAlloc, allocBudget(len(modelJSON)+len(shard)); got > budget {
			t.Errorf("allocated %d bytes for %d input bytes, budget %d (err %v)", got, len(modelJSON)+len(shard), budget, err)
		}
	})
}
