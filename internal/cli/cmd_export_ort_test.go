//go:build cgo && !noort

package cli

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
	"github.com/cmc-stream/cmc-stream/model/onnxexport"
)

// TestExportMatchesReference exports the reference fixture's model with
// "cmc-stream export", runs the file in ONNX Runtime on the fixture's
// inputs, and checks the fused and expert logits against the reference
// PyTorch outputs to 1e-5.
func TestExportMatchesReference(t *testing.T) {
	dir, f := fixtureBundle(t)
	path := filepath.Join(t.TempDir(), "cmc.onnx")
	var stdout, stderr bytes.Buffer
	if err := runExport(context.Background(), []string{"--model", dir, "--onnx", path}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote "+path) {
		t.Errorf("stdout %q does not name the file", stdout.String())
	}
	if err := onnx.Init(envconfig.Resolve(envconfig.Native{}).ORTLibrary); err != nil {
		t.Fatal(err)
	}
	s, err := onnx.Open(path, nil, onnxexport.Inputs[:], onnxexport.Outputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var in []onnx.Tensor
	for _, name := range []string{"input.text", "input.audio", "input.vision"} {
		x := f.Tensors[name]
		in = append(in, onnx.Tensor{Shape: []int64{int64(x.Shape[0]), int64(x.Shape[1]), int64(x.Shape[2])}, F32: x.Data})
	}
	got, err := s.Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got []float32, want []float32) {
		t.Helper()
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 || math.IsNaN(d) {
				t.Fatalf("%s[%d] = %.7g, reference %.7g", name, i, got[i], want[i])
			}
		}
	}
	check("logits", got[0].F32, f.Tensors["eval.pred"].Data)
	experts := got[1].F32 // [B, expert, class]
	for k, name := range []string{"eval.pred_t", "eval.pred_a", "eval.pred_v"} {
		want := f.Tensors[name].Data
		var g []float32
		for b := range len(want) / 3 {
			g = append(g, experts[(b*3+k)*3:(b*3+k+1)*3]...)
		}
		check(name, g, want)
	}
}
