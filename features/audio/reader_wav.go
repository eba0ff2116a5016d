package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// WAVE format tags (Microsoft mmreg.h).
const (
	wavFormatPCM        = 0x0001
	wavFormatIEEEFloat  = 0x0003
	wavFormatExtensible = 0xFFFE
)

// wavSubformatSuffix is the tail shared by the KSDATAFORMAT_SUBTYPE GUIDs
// of WAVE_FORMAT_EXTENSIBLE; the first two bytes hold the format tag.
var wavSubformatSuffix = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavUnknownSize is the data-chunk size written by streaming encoders that
// cannot seek back (for example ffmpeg writing to a pipe): read to the end.
const wavUnknownSize = 0xFFFFFFFF

// maxWAVHeaderChunk bounds the fmt chunk a decoder accepts (1 KiB; the
// largest standard one, WAVE_FORMAT_EXTENSIBLE, has 40 bytes).
const maxWAVHeaderChunk = 1 << 10

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

// wavFormat is the content of a fmt chunk.
type wavFormat struct {
	tag        uint16 // PCM or IEEE float after resolving EXTENSIBLE
	channels   int
	sampleRate int
	bits       int // container bits per sample
}

func (f wavFormat) blockAlign() int { return f.channels * f.bits / 8 }

// ReadWAV reads a RIFF/WAVE file of PCM (8-bit unsigned, 16-, 24- or 32-bit
// signed) or IEEE float (32- or 64-bit) samples, plain or
// WAVE_FORMAT_EXTENSIBLE, and returns its samples averaged over channels
// (librosa to_mono) as float32 in [-1, 1) for PCM (integer / 2^(bits-1), as
// libsndfile scales them), with its sample rate in Hz. Chunks other than
// fmt and data are skipped. Malformed files give a *[WAVFormatError] naming
// the file and chunk.
func ReadWAV(path string) (samples []float32, sampleRate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("audio: read WAV: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: Close cannot lose data
	samples, sampleRate, err = decodeWAV(bufio.NewReaderSize(f, 1<<16), path)
	if err != nil {
		return nil, 0, err
	}
	return samples, sampleRate, nil
}

// DecodeWAV is [ReadWAV] for a stream.
func DecodeWAV(r io.Reader) (samples []float32, sampleRate int, err error) {
	return decodeWAV(r, "")
}

// wavReader reads a stream while counting its offset.
type wavReader struct {
	r      io.Reader
	file   string
	offset int64
}

func (w *wavReader) formatError(chunk string, at int64, format string, args ...any) error {
	return &WAVFormatError{File: w.file, Chunk: chunk, Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// readFull reads len(buf) bytes; a short read is a malformed-file error
// about chunk, any other read error is returned wrapped.
func (w *wavReader) readFull(buf []byte, chunk string, at int64) error {
	n, err := io.ReadFull(w.r, buf)
	w.offset += int64(n)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return w.formatError(chunk, at, "file ends after %d bytes, inside the chunk", w.offset)
	case err != nil:
		return fmt.Errorf("audio: read WAV %s: %w", w.file, err)
	}
	return nil
}

func decodeWAV(r io.Reader, file string) ([]float32, int, error) {
	w := &wavReader{r: r, file: file}
	var riff [12]byte
	if err := w.readFull(riff[:], "RIFF", 0); err != nil {
		return nil, 0, err
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, 0, w.formatError("RIFF", 0, "not a RIFF/WAVE file (starts with %q ... %q)", riff[0:4], riff[8:12])
	}
	var format *wavFormat
	for {
		at := w.offset
		var header [8]byte
		n, err := io.ReadFull(w.r, header[:])
		w.offset += int64(n)
		if n == 0 && errors.Is(err, io.EOF) {
			if format == nil {
				return nil, 0, w.formatError("fmt ", at, "no fmt chunk in the file")
			}
			return nil, 0, w.formatError("data", at, "no data chunk in the file")
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, 0, w.formatError("chunk header", at, "file ends inside a chunk header")
		case err != nil:
			return nil, 0, fmt.Errorf("audio: read WAV %s: %w", w.file, err)
		}
		id := string(header[0:4])
		size := binary.LittleEndian.Uint32(header[4:8])
		switch id {
		case "fmt ":
			if format, err = w.readFormat(size, at); err != nil {
				return nil, 0, err
			}
		case "data":
			if format == nil {
				return nil, 0, w.formatError("data", at, "data chunk before the fmt chunk")
			}
			samples, err := w.readData(*format, size, at)
			if err != nil {
				return nil, 0, err
			}
			return samples, format.sampleRate, nil
		default:
			skip := int64(size) + int64(size%2) // chunks are padded to even sizes
			n, err := io.CopyN(io.Discard, w.r, skip)
			w.offset += n
			if err != nil {
				return nil, 0, w.formatError(id, at, "chunk of %d bytes ends early at byte %d", size, w.offset)
			}
		}
	}
}

func (w *wavReader) readFormat(size uint32, at int64) (*wavFormat, error) {
	const chunk = "fmt "
	if size < 16 || size > maxWAVHeaderChunk {
		return nil, w.formatError(chunk, at, "size %d bytes, want 16 to %d", size, maxWAVHeaderChunk)
	}
	body := make([]byte, size+size%2)
	if err := w.readFull(body, chunk, at); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	f := &wavFormat{
		tag:        le.Uint16(body[0:2]),
		channels:   int(le.Uint16(body[2:4])),
		sampleRate: int(le.Uint32(body[4:8])),
		bits:       int(le.Uint16(body[14:16])),
	}
	blockAlign := int(le.Uint16(body[12:14]))
	if f.tag == wavFormatExtensible {
		if size < 40 || le.Uint16(body[16:18]) < 22 {
			return nil, w.formatError(chunk, at, "WAVE_FORMAT_EXTENSIBLE needs 40 bytes with a 22-byte extension, have %d", size)
		}
		guid := body[24:40]
		if !bytes.Equal(guid[2:], wavSubformatSuffix) {
			return nil, w.formatError(chunk, at, "unknown WAVE_FORMAT_EXTENSIBLE subformat % x", guid)
		}
		f.tag = le.Uint16(guid[0:2])
	}
	switch {
	case f.channels == 0:
		return nil, w.formatError(chunk, at, "0 channels")
	case f.sampleRate == 0:
		return nil, w.formatError(chunk, at, "sample rate 0 Hz")
	case f.tag == wavFormatPCM && f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32:
		return nil, w.formatError(chunk, at, "PCM with %d bits per sample; supported: 8, 16, 24, 32", f.bits)
	case f.tag == wavFormatIEEEFloat && f.bits != 32 && f.bits != 64:
		return nil, w.formatError(chunk, at, "IEEE float with %d bits per sample; supported: 32, 64", f.bits)
	case f.tag != wavFormatPCM && f.tag != wavFormatIEEEFloat:
		return nil, w.formatError(chunk, at, "format tag %#04x is not PCM (1) or IEEE float (3)", f.tag)
	case blockAlign != f.blockAlign():
		return nil, w.formatError(chunk, at, "block align %d, want %d for %d channels of %d bits", blockAlign, f.blockAlign(), f.channels, f.bits)
	}
	return f, nil
}

// readData decodes a data chunk of size bytes (or up to the end of the
// stream for wavUnknownSize) into channel-averaged float32 samples.
func (w *wavReader) readData(f wavFormat, size uint32, at int64) ([]float32, error) {
	const chunk = "data"
	block := f.blockAlign()
	toEnd := size == wavUnknownSize
	if !toEnd && int64(size)%int64(block) != 0 {
		return nil, w.formatError(chunk, at, "size %d bytes is not a whole number of %d-byte frames", size, block)
	}
	remaining := int64(size)
	// Grow as data arrives rather than trusting the header for the capacity.
	samples := make([]float32, 0, min(remaining/int64(block), 1<<20))
	buf := make([]byte, block*max(1, (1<<16)/block)) // about 64 KiB of whole frames
	decode := sampleDecoder(f)
	scale := 1 / float64(f.channels)
	for toEnd || remaining > 0 {
		want := int64(len(buf))
		if !toEnd {
			want = min(want, remaining)
		}
		n, err := io.ReadFull(w.r, buf[:want])
		w.offset += int64(n)
		if toEnd && n%block != 0 {
			return nil, w.formatError(chunk, at, "stream ends inside a %d-byte frame at byte %d", block, w.offset)
		}
		for frame := buf[:n-n%block]; len(frame) > 0; frame = frame[block:] {
			var sum float64
			for c := range f.channels {
				sum += decode(frame[c*f.bits/8:])
			}
			samples = append(samples, float32(sum*scale))
		}
		remaining -= int64(n)
		switch {
		case toEnd && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return samples, nil
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, w.formatError(chunk, at, "chunk declares %d bytes but the file ends after %d of them", size, int64(size)-remaining)
		case err != nil:
			return nil, fmt.Errorf("audio: read WAV %s: %w", w.file, err)
		}
	}
	return samples, nil
}

// sampleDecoder returns the function converting one little-endian sample to
// a float in [-1, 1] (PCM scaled by 2^-(bits-1), 8-bit offset by 128).
func sampleDecoder(f wavFormat) func([]byte) float64 {
	le := binary.LittleEndian
	switch {
	case f.tag == wavFormatIEEEFloat && f.bits == 32:
		return func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }
	case f.tag == wavFormatIEEEFloat:
		return func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }
	case f.bits == 8:
		return func(b []byte) float64 { return (float64(b[0]) - 128) / 128 }
	case f.bits == 16:
		return func(b []byte) float64 { return float64(int16(le.Uint16(b))) / (1 << 15) }
	case f.bits == 24:
		return func(b []byte) float64 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float64(v) / (1 << 23)
		}
	default:
		return func(b []byte) float64 { return float64(int32(le.Uint32(b))) / (1 << 31) }
	}
}
