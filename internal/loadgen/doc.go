// Package loadgen is the pipeline load generator behind "cmc-stream bench
// pipeline": it replays N concurrent streams at real-time pace through one
// live.App and measures what a deployment cares about.
//
// Each stream plays the same clip (with Config.Stagger, stream i from i/N of
// the clip's length on, so that utterances end at different moments as in
// independent calls): its video file through a video source
// (15 fps, 320x240), its WAV through an audio file source (16 kHz), and its
// transcript utterances produced to an in-process Kafka broker (broker, the
// kfake cluster) at the moment each utterance ends, as a speech recogniser
// would. All streams share one App: N video sources, N audio sources and one
// Kafka transcript source, utterance windows, the stdout sink (discarded)
// and a collector that timestamps each event as it is written.
//
// Run measures one N: end-to-end latency (window end to event written)
// p50/p99, the scorer's feature-extraction share of it, events/s, windows,
// drops and failures, heap, resident set and goroutines.
// Search finds the largest N that meets a Target (every expected event, no
// drops, p99 below a bound), doubling N and then bisecting.
//
// A clip shorter than Config.Duration is looped with ffmpeg (stream copy,
// no re-encoding) into a temporary directory, its utterances repeated with
// the clip's length as period; staggered copies are cut from it (re-encoded,
// so that they start at the exact frame).
//
// The package needs the native build (OpenCV for the video sources, ONNX
// Runtime for the vision features); built without them, Run returns an
// error wrapping the ErrNotBuilt of the missing part.
package loadgen
