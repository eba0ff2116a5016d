package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/cmc-stream/cmc-stream/internal/wav"
)

// ErrMalformedWAV is wrapped by every [WAVFormatError].
var ErrMalformedWAV = errors.New("audio: malformed WAV")

// WAVFormatError reports a malformed or unsupported WAV stream: the file
// (empty when decoding a stream), the chunk and its byte offset, and what is
// wrong. It unwraps to [ErrMalformedWAV].
type WAVFormatError struct {
	// File is the path given to ReadWAV, empty for DecodeWAV.
	File string
	// Chunk is the four-character chunk id ("RIFF", "fmt ", "data", ...) or
	// "chunk header".
	Chunk string
	// Offset is the byte offset of the chunk in the file.
	Offset int64
	// Reason says what is wrong.
	Reason string
}

// Error formats the error as "audio: FILE: CHUNK chunk at byte N: REASON".
func (e *WAVFormatError) Error() string {
	file := e.File
	if file == "" {
		file = "WAV stream"
	}
	return fmt.Sprintf("audio: %s: %q chunk at byte %d: %s", file, e.Chunk, e.Offset, e.Reason)
}

// Unwrap returns ErrMalformedWAV.
func (e *WAVFormatError) Unwrap() error { return ErrMalformedWAV }

// ReadWAV reads a RIFF/WAVE file of PCM (8-bit unsigned, 16-, 24- or 32-bit
// signed) or IEEE float (32- or 64-bit) samples, plain or
// WAVE_FORMAT_EXTENSIBLE, and returns its samples averaged over channels
// (librosa to_mono) as float32 in [-1, 1) for PCM (integer / 2^(bits-1), as
// libsndfile scales them), with its sample rate in Hz. Chunks other than
// fmt and data are skipped; a data chunk of unknown size (0xFFFFFFFF) is
// read to the end of the file. Malformed files, including a file that ends
// before the declared data or inside a frame, give a *[WAVFormatError]
// naming the file and chunk.
func ReadWAV(path string) (samples []float32, sampleRate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("audio: read WAV: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: Close cannot lose data
	return decodeWAV(bufio.NewReaderSize(f, 1<<16), path)
}

// DecodeWAV is [ReadWAV] for a stream.
func DecodeWAV(r io.Reader) (samples []float32, sampleRate int, err error) {
	return decodeWAV(r, "")
}

// decodeWAV decodes the whole stream r of the file (empty for a stream)
// with internal/wav.
func decodeWAV(r io.Reader, file string) ([]float32, int, error) {
	d, err := wav.NewDecoder(r)
	if err != nil {
		return nil, 0, wavError(file, err)
	}
	// Grow as data arrives rather than trusting the header for the capacity.
	samples := make([]float32, 0, min(max(d.Frames(), 0), 1<<20))
	for {
		if len(samples) == cap(samples) {
			samples = slices.Grow(samples, 1<<14)
		}
		n, err := d.Read(samples[len(samples):cap(samples)])
		samples = samples[:len(samples)+n]
		switch {
		case errors.Is(err, io.EOF):
			return samples, d.Format().SampleRate, nil
		case err != nil:
			return nil, 0, wavError(file, err)
		}
	}
}

// wavError turns an error of internal/wav into a *WAVFormatError naming
// the file, or wraps a read error.
func wavError(file string, err error) error {
	if fe, ok := errors.AsType[*wav.FormatError](err); ok {
		return &WAVFormatError{File: file, Chunk: fe.Chunk, Offset: fe.Offset, Reason: fe.Reason}
	}
	return fmt.Errorf("audio: read WAV %s: %w", file, err)
}
