// Package onnxtest initialises ONNX Runtime for a package's tests the way
// the command does for the process: from the library and the assets that
// internal/envconfig resolves ($CMC_ORT_LIB, $CMC_ASSETS, else the
// project's third_party). Only tests import it (internal/layering checks).
package onnxtest

import (
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// Native is where the command would find the assets and the ONNX Runtime
// library.
var Native = envconfig.Resolve(envconfig.Native{})

// Run initialises ONNX Runtime from Native, runs the tests, shuts ONNX
// Runtime down and returns m.Run's exit code: the body of a TestMain. In a
// build without ONNX Runtime, Init fails and the tests that need it see
// onnx.ErrNotBuilt.
func Run(m *testing.M) int {
	_ = onnx.Init(Native.ORTLibrary)
	code := m.Run()
	_ = onnx.Shutdown()
	return code
}
