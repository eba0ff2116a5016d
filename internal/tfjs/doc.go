// Package tfjs converts TensorFlow.js graph models (a model.json holding a
// TensorFlow GraphDef in JSON, plus binary weight shards; the format of
// tfjs-converter's "graph-model" output) to ONNX models, so they run in
// ONNX Runtime.
//
// The converter covers the operators of small convolutional networks such
// as the mini-Xception facial-expression model (Arriaga et al., "Real-time
// Convolutional Neural Networks for Emotion and Gender Classification",
// arXiv:1710.07557): Placeholder, Const (float32 and int32 weights,
// unquantised), Conv2D and _FusedConv2D (with fused BiasAdd and Relu),
// DepthwiseConv2dNative, MaxPool, Add/AddV2, Relu, Mean, Softmax and
// Identity. Any other operator, a quantised weight or an unsupported
// attribute is an error naming the node.
//
// TensorFlow works in NHWC, ONNX's Conv and MaxPool in NCHW: the converter
// transposes 4-D inputs to NCHW once, converts filters from HWIO to OIHW,
// maps reduction and softmax axes, and transposes 4-D outputs back, so the
// ONNX model takes and returns the same tensors as the TF.js model. It
// writes IR version 8 with operator set 13.
//
// Functions are safe for concurrent use.
package tfjs
