package align

import "errors"

// ErrLate is returned (wrapped) by Aligner.Add for an item that arrived too
// late to fall into any window: behind its modality's watermark by more than
// Config.AllowedLateness, or covering only windows already emitted. The item
// is dropped and counted in Stats.Late.
var ErrLate = errors.New("align: late item")

// ErrInvalid is returned (wrapped, with the reason) by Aligner.Add for a
// malformed input: an empty stream id, an unknown modality, a time outside
// [0, MaxEventTime], an audio chunk without samples or with a non-positive sample rate, or a
// segment that ends before it starts. The input is dropped and counted in
// Stats.Invalid.
var ErrInvalid = errors.New("align: invalid input")
