// Package bench is the pipeline load generator behind "cmc-stream bench
// pipeline": it replays N concurrent streams at real-time pace through one
// live.App and measures what a deployment cares about.
//
// Each stream plays the same clip: its video file through a video source
// (15 fps, 320x240), its WAV through an audio file source (16 kHz), and its
// transcript utterances produced to an in-process Kafka broker (broker, the
// kfake cluster) at the moment each utterance ends, as a speech recogniser
// would. All streams share one App: N video sources, N audio sources and one
// Kafka transcript source, utterance windows, the stdout sink (discarded)
// and a collector that timestamps each event as it is written.
//
// Run measures one N: end-to-end latency (window end to event written)
// p50/p99, events/s, windows, drops and failures, heap and goroutines.
// Search finds the largest N that meets a Target (every expected event, no
// drops, p99 below a bound), doubling N and then bisecting.
//
// A clip shorter than Config.Duration is looped with ffmpeg (stream copy,
// no re-encoding) into a temporary directory; its utterances are repeated
// with the clip's length as period.
//
// The package needs the native build (OpenCV for the video sources, ONNX
// Runtime for the vision features); built without them, Run returns an
// error wrapping the ErrNotBuilt of the missing part.
package bench
