// Package video is the live and offline video source of cmc-stream, bound to
// OpenCV through gocv (gocv.io/x/gocv v0.32.0, OpenCV 4.6).
//
// [Open] starts a capture from a device index ("0"), a file or a URL and
// delivers [Frame] values: Go-owned copies of the resized BGR or grey pixels
// with their frame index and event time (time since the start of the stream:
// the container's position for files, frame index / FPS otherwise). One
// goroutine owns the OpenCV handles and reuses one Mat per processing step
// for the whole capture, so no OpenCV memory is allocated per frame; every
// handle is released when the capture ends or [Source.Close] is called.
//
// # Drop policy
//
// Frames wait in a bounded queue of [Config.QueueFrames] frames. A live
// capture (a device, a URL, or a file played with [Config.Realtime]) never
// blocks: when the queue is full it drops the OLDEST queued frame and counts
// it in [Stats.Dropped]. A file read as fast as possible (Realtime false) is
// not live: the capture waits for the reader and drops nothing.
//
// A frame that fails to decode is counted in [Stats.DecodeErrors] and skipped;
// it never ends the stream. [ReadFile] reads a whole file synchronously, for
// offline feature extraction.
//
// # Build tags
//
// The package needs cgo and OpenCV (pkg-config opencv4). Built with the tag
// nocv, or with CGO_ENABLED=0, [Open] and [ReadFile] return [ErrNotBuilt] and
// nothing links against OpenCV. Headless machines should set
// QT_QPA_PLATFORM=offscreen; this package opens no window.
package video
