package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tinyNode describes one node of a hand-made graph model.
type tinyNode struct {
	name, op string
	inputs   []string
	shape    []int64   // Placeholder shape
	weight   []float32 // Const values
	wshape   []int64
	fused    []string // _FusedConv2D fused_ops
	padding  string
}

// tinyModel writes a model.json and its single weight shard.
func tinyModel(t testing.TB, nodes []tinyNode) ([]byte, []byte) {
	t.Helper()
	type a = map[string]any
	var jnodes []a
	var weights []a
	var shard []byte
	for _, n := range nodes {
		attr := a{}
		switch n.op {
		case "Placeholder":
			var dims []a
			for _, d := range n.shape {
				dims = append(dims, a{"size": strconv.FormatInt(d, 10)})
			}
			attr["shape"] = a{"shape": a{"dim": dims}}
			attr["dtype"] = a{"type": "DT_FLOAT"}
		case "Const":
			weights = append(weights, a{"name": n.name, "shape": n.wshape, "dtype": "float32"})
			for _, v := range n.weight {
				shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(v))
			}
		}
		if n.fused != nil {
			var s []string
			for _, f := range n.fused {
				s = append(s, base64.StdEncoding.EncodeToString([]byte(f)))
			}
			attr["fused_ops"] = a{"list": a{"s": s}}
		}
		if n.padding != "" {
			attr["padding"] = a{"s": base64.StdEncoding.EncodeToString([]byte(n.padding))}
			attr["strides"] = a{"list": a{"i": []string{"1", "1", "1", "1"}}}
		}
		jnodes = append(jnodes, a{"name": n.name, "op": n.op, "input": n.inputs, "attr": attr})
	}
	b, err := json.Marshal(a{
		"format":          "graph-model",
		"modelTopology":   a{"node": jnodes},
		"weightsManifest": []a{{"paths": []string{"w.bin"}, "weights": weights}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, shard
}

func TestConvertErrors(t *testing.T) {
	x := tinyNode{name: "x", op: "Placeholder", shape: []int64{1, 4, 4, 1}}
	w := tinyNode{name: "w", op: "Const", weight: make([]float32, 9), wshape: []int64{3, 3, 1, 1}}
	for _, c := range []struct {
		name  string
		nodes []tinyNode
		shard func([]byte) []byte
		want  string
	}{
		{"unsupported op", []tinyNode{x, {name: "y", op: "Tanh", inputs: []string{"x"}}}, nil, "node y: operator Tanh is not supported"},
		{"undefined input", []tinyNode{x, {name: "y", op: "Relu", inputs: []string{"nope"}}}, nil, `node "nope" is referenced`},
		{"short shard", []tinyNode{x, w, {name: "y", op: "Conv2D", inputs: []string{"x", "w"}, padding: "SAME"}},
			func(b []byte) []byte { return b[:8] }, "weight w: shape [3 3 1 1] does not fit the 8 bytes left"},
		{"bad padding", []tinyNode{x, w, {name: "y", op: "Conv2D", inputs: []string{"x", "w"}, padding: "EXPLICIT"}},
			nil, `node y: padding "EXPLICIT" is not supported`},
		{"fused batch norm", []tinyNode{x, w, {name: "y", op: "_FusedConv2D", inputs: []string{"x", "w"}, fused: []string{"FusedBatchNorm"}, padding: "SAME"}},
			nil, "node y: fused operators [FusedBatchNorm] are not supported"},
		{"non-constant filter", []tinyNode{x, {name: "y", op: "Conv2D", inputs: []string{"x", "x"}, padding: "SAME"}},
			nil, "node y: input x must be a constant"},
		{"second output", []tinyNode{x, {name: "y", op: "Relu", inputs: []string{"x:1"}}}, nil, "only the first output"},
		// Issue #12: a scalar weight (shape []) without its 4 bytes panicked.
		{"scalar without bytes", []tinyNode{x, {name: "s", op: "Const", wshape: []int64{}}, {name: "y", op: "Relu", inputs: []string{"x"}}},
			nil, "weight s: shape [] does not fit the 0 bytes left in group 0"},
		{"overflowing shape", []tinyNode{x, {name: "big", op: "Const", weight: make([]float32, 2), wshape: []int64{1 << 62, 1 << 62}}},
			nil, "weight big: shape [4611686018427387904 4611686018427387904] does not fit the 8 bytes left"},
	} {
		m, shard := tinyModel(t, c.nodes)
		if c.shard != nil {
			shard = c.shard(shard)
		}
		_, err := Convert(m, func(string) ([]byte, error) { return shard, nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Convert([]byte(`{"format":"layers-model"}`), nil); err == nil {
		t.Error("layers model accepted")
	}
	if _, err := Convert([]byte(`{`), nil); err == nil {
		t.Error("bad JSON accepted")
	}
	missing := errors.New("no such shard")
	m, _ := tinyModel(t, []tinyNode{x, w})
	if _, err := Convert(m, func(string) ([]byte, error) { return nil, missing }); !errors.Is(err, missing) {
		t.Errorf("missing shard: %v, want it wrapped", err)
	}
	if _, err := ConvertFile("/nonexistent/model.json"); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := Convert(make([]byte, MaxModelJSONBytes+1), nil); err == nil || !strings.Contains(err.Error(), "MaxModelJSONBytes") {
		t.Errorf("oversized model.json: %v", err)
	}
}

// TestConvertFileShardOutsideFolder checks that a manifest cannot make
// ConvertFile read a file outside the model's folder.
func TestConvertFileShardOutsideFolder(t *testing.T) {
	dir := t.TempDir()
	m := `{"weightsManifest":[{"paths":["../secret.bin"],"weights":[{"name":"w","shape":[1],"dtype":"float32"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ConvertFile(filepath.Join(dir, "model.json"))
	if err == nil || !strings.Contains(err.Error(), `weight shard ../secret.bin: path "../secret.bin" leaves the model's folder`) {
		t.Errorf("error %v, want the shard path refused", err)
	}
}

// TestConvertGraph checks the structure of a converted graph: the NHWC
// input, its transpose to NCHW, the OIHW filter, and the transpose back.
func TestConvertGraph(t *testing.T) {
	m, shard := tinyModel(t, []tinyNode{
		{name: "x", op: "Placeholder", shape: []int64{-1, 4, 4, 2}},
		{name: "w", op: "Const", weight: []float32{1, 2, 3, 4, 5, 6}, wshape: []int64{1, 1, 2, 3}},
		{name: "y", op: "Conv2D", inputs: []string{"x", "w"}, padding: "SAME"},
	})
	pm, err := Convert(m, func(string) ([]byte, error) { return shard, nil })
	if err != nil {
		t.Fatal(err)
	}
	g := pm.GetGraph()
	var ops []string
	for _, n := range g.GetNode() {
		ops = append(ops, n.GetOpType())
	}
	if strings.Join(ops, ",") != "Transpose,Conv,Transpose" {
		t.Errorf("ops %v, want Transpose, Conv, Transpose", ops)
	}
	if len(g.GetInput()) != 1 || g.GetInput()[0].GetName() != "x" || len(g.GetOutput()) != 1 || g.GetOutput()[0].GetName() != "y" {
		t.Errorf("inputs %v outputs %v, want x and y", g.GetInput(), g.GetOutput())
	}
	init := g.GetInitializer()[0]
	// HWIO [1,1,2,3] -> OIHW [3,2,1,1]: w[o][i] = hwio[i*3+o].
	want := []float32{1, 4, 2, 5, 3, 6}
	if got := init.GetFloatData(); len(got) != 6 || init.GetDims()[0] != 3 || init.GetDims()[1] != 2 {
		t.Fatalf("filter dims %v data %v", init.GetDims(), got)
	}
	for i, v := range init.GetFloatData() {
		if v != want[i] {
			t.Errorf("filter %v, want %v", init.GetFloatData(), want)
			break
		}
	}
	if pm.GetIrVersion() != IRVersion || pm.GetOpsetImport()[0].GetVersion() != Opset {
		t.Errorf("IR %d opset %v", pm.GetIrVersion(), pm.GetOpsetImport())
	}
}
