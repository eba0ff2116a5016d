package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnx/onnxtest"
)

// testNative locates the assets and ONNX Runtime as the command does;
// TestMain initialises ONNX Runtime from it (onnxtest.Run).
var testNative = onnxtest.Native

// testAssetsYAML is the assets section of the tests' configurations: the
// command resolves assets.dir before Build, the tests give it.
var testAssetsYAML = fmt.Sprintf("assets: {dir: %q}\n", testNative.AssetsDir)

// TestBuildNeedsAssets: Build looks for no assets itself; a configuration
// the command did not complete is refused with the key to set, and the
// assets section decodes strictly.
func TestBuildNeedsAssets(t *testing.T) {
	base := "model: {bundle: " + textBundle(t) + "}\ntext: {max_len: 24}\nsources: {transcripts: {file: x.jsonl}}\nsinks: {stdout: {}}\n"
	cfg, err := DecodeConfig([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "assets.dir") {
		t.Errorf("Build without assets.dir = %v, want an error naming assets.dir", err)
	}
	cfg, err = DecodeConfig([]byte(base + "assets: {dir: /opt/cmc, onnxruntime: /opt/ort/libonnxruntime.so.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Assets != (AssetsConfig{Dir: "/opt/cmc", ONNXRuntime: "/opt/ort/libonnxruntime.so.1"}) {
		t.Errorf("assets decoded as %+v", cfg.Assets)
	}
	if _, err := DecodeConfig([]byte(base + "assets: {folder: x}\n")); err == nil {
		t.Error("unknown assets key accepted")
	}
}
