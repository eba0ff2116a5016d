package vision

import (
	"os"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnx/onnxtest"
)

// testNative locates the assets and ONNX Runtime as the command does.
var testNative = onnxtest.Native

// TestMain initialises ONNX Runtime once for the package's tests, as the
// command does for the process.
func TestMain(m *testing.M) { os.Exit(onnxtest.Run(m)) }

// withTestModels returns cfg with its empty model paths set to the
// assets' (DefaultConfig).
func withTestModels(cfg Config) Config {
	d := DefaultConfig(testNative.AssetsDir)
	if cfg.FaceModel == "" {
		cfg.FaceModel = d.FaceModel
	}
	if cfg.ExpressionModel == "" {
		cfg.ExpressionModel = d.ExpressionModel
	}
	return cfg
}
