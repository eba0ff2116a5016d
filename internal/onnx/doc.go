// Package onnx runs ONNX models with ONNX Runtime (through
// github.com/yalue/onnxruntime_go). It is the project's only binding to the
// ONNX Runtime C library: the command loads the library once per process
// with Init, from the path its configuration gives, and calls Shutdown at
// exit; packages open Sessions and Close them. Open before Init returns
// ErrNotInitialized. The package reads no environment variable and
// searches no folder: the library's path is Init's parameter.
//
// Built without cgo, or with the build tag noort, every function returns
// ErrNotBuilt.
package onnx

import "errors"

// ErrNotBuilt is returned by every function of a build without ONNX Runtime
// (CGO_ENABLED=0 or the noort build tag).
var ErrNotBuilt = errors.New("onnx: built without ONNX Runtime (cgo disabled or tag noort)")

// ErrNotInitialized is returned by Open before Init, or after Shutdown.
var ErrNotInitialized = errors.New("onnx: ONNX Runtime not initialised (the command calls onnx.Init first)")

// Tensor is an input or output tensor. Exactly one of F32 and I64 holds the
// values, in row-major order.
type Tensor struct {
	Shape []int64
	F32   []float32
	I64   []int64
}
