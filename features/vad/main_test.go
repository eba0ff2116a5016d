package vad

import (
	"os"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// testNative locates the assets and ONNX Runtime as the command does
// ($CMC_ASSETS and $CMC_ORT_LIB, else the project's third_party).
var testNative = envconfig.Resolve(envconfig.Native{})

// TestMain initialises ONNX Runtime once for the package's tests, as the
// command does for the process.
func TestMain(m *testing.M) {
	_ = onnx.Init(testNative.ORTLibrary)
	code := m.Run()
	_ = onnx.Shutdown()
	os.Exit(code)
}
