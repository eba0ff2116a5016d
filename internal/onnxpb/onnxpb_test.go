package onnxpb_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestReadModel decodes a real ONNX file written by another tool (the
// BlazeFace export by tf2onnx that scripts/fetch-vision-assets.sh fetches)
// and finds its published interface: input "input:0" [1,128,128,3] and
// four outputs; re-encoding and decoding it gives the same message.
func TestReadModel(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(envconfig.Resolve(envconfig.Native{}).AssetsDir, "models", "face_detection_front_128x128_barracuda.onnx"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("model not fetched (scripts/fetch-vision-assets.sh)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	if len(g.GetInput()) != 1 || g.GetInput()[0].GetName() != "input:0" {
		t.Fatalf("inputs %v, want input:0", g.GetInput())
	}
	var dims []int64
	for _, d := range g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim() {
		dims = append(dims, d.GetDimValue())
	}
	if len(dims) != 4 || dims[0] != 1 || dims[1] != 128 || dims[2] != 128 || dims[3] != 3 {
		t.Errorf("input shape %v, want [1 128 128 3]", dims)
	}
	if len(g.GetOutput()) != 4 || m.GetProducerName() != "tf2onnx" {
		t.Errorf("%d outputs from %q, want 4 from tf2onnx", len(g.GetOutput()), m.GetProducerName())
	}
	again, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var m2 onnxpb.ModelProto
	if err := proto.Unmarshal(again, &m2); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&m, &m2) {
		t.Error("model changed in a marshal round trip")
	}
}
