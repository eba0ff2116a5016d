package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestRun converts a one-node graph model (a ReLU of its input) and reads
// the ONNX file back: the graph keeps the TF.js names, and the printed
// sha256 is the file's.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	model := `{"format":"graph-model","modelTopology":{"node":[
		{"name":"x","op":"Placeholder","attr":{"dtype":{"type":"DT_FLOAT"},"shape":{"shape":{"dim":[{"size":"1"},{"size":"3"}]}}}},
		{"name":"y","op":"Relu","input":["x"]}]}}`
	in := filepath.Join(dir, "model.json")
	if err := os.WriteFile(in, []byte(model), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model.onnx")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-in", in, "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x  %s (%d bytes)\n", sha256.Sum256(b), out, len(b)); stdout.String() != want {
		t.Errorf("printed %q, want %q", stdout.String(), want)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	if len(g.GetInput()) != 1 || g.GetInput()[0].GetName() != "x" || len(g.GetOutput()) != 1 || g.GetOutput()[0].GetName() != "y" {
		t.Errorf("graph inputs %v outputs %v, want x and y", g.GetInput(), g.GetOutput())
	}
	if err := run([]string{"-in", in}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "-out") {
		t.Errorf("missing -out: %v", err)
	}
	if err := run([]string{"-in", filepath.Join(dir, "missing.json"), "-out", out}, &stdout, &stderr); err == nil {
		t.Error("missing model accepted")
	}
}
