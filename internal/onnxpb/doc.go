// Package onnxpb holds the Go types of the ONNX model format (onnx.proto,
// ONNX 1.12.0 as shipped by Debian's libonnx-dev, Apache-2.0), generated with
// protoc 3.21.12 and protoc-gen-go v1.36.12. Marshal a ModelProto with
// google.golang.org/protobuf/proto to write an .onnx file.
//
// The generated types are plain protobuf messages: not safe for concurrent
// mutation.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/cmc-stream/cmc-stream/internal/onnxpb onnx.proto
