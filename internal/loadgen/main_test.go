package loadgen

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
