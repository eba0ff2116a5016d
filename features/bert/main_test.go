package bert

import (
	"os"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnx/onnxtest"
)

// TestMain initialises ONNX Runtime once for the package's tests, as the
// command does for the process.
func TestMain(m *testing.M) { os.Exit(onnxtest.Run(m)) }
