// Package wav is the one RIFF/WAVE decoder of cmc-stream, shared by the
// whole-file reader of the feature extractors (features/audio.ReadWAV) and
// the live file source (ingest/media).
//
// A [Decoder] parses the header up to the data chunk, then streams the data
// chunk as mono float32 frames (the channels averaged). It reads PCM (8-bit
// unsigned, 16-, 24- or 32-bit signed) and IEEE float (32- or 64-bit)
// samples, plain or WAVE_FORMAT_EXTENSIBLE; chunks other than fmt and data
// are skipped, and a data chunk of unknown size (0xFFFFFFFF, as streaming
// encoders write) is read to the end of the stream. A malformed or
// unsupported stream gives a *[FormatError] naming the chunk and its byte
// offset.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVE format tags (Microsoft mmreg.h).
const (
	FormatPCM        = 0x0001
	FormatIEEEFloat  = 0x0003
	FormatExtensible = 0xFFFE
)

// UnknownSize is the data-chunk size written by streaming encoders that
// cannot seek back (for example ffmpeg writing to a pipe): the data runs to
// the end of the stream.
const UnknownSize = 0xFFFFFFFF

// maxFmtChunk bounds the fmt chunk a decoder accepts (1 KiB; the largest
// standard one, WAVE_FORMAT_EXTENSIBLE, has 40 bytes).
const maxFmtChunk = 1 << 10

// The sample rates a Decoder accepts, in Hz: from telephony's 8 kHz to
// studio audio's 192 kHz. A rate outside would make the feature
// extractors' resampling to 22,050 Hz allocate far more than the file holds
// (a 40 KB file declaring 1 Hz would become 0.9 G samples).
const (
	MinSampleRate = 8000
	MaxSampleRate = 192000
)

// readBytes is about how many bytes of whole frames one Read decodes.
const readBytes = 1 << 16

// SubformatGUID returns the KSDATAFORMAT_SUBTYPE GUID that stands for the
// format tag in a WAVE_FORMAT_EXTENSIBLE fmt chunk: the tag in its first two
// bytes, then a fixed suffix.
func SubformatGUID(tag uint16) [16]byte {
	return [16]byte{byte(tag), byte(tag >> 8), 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}
}

// ErrMalformed is wrapped by every [FormatError].
var ErrMalformed = errors.New("wav: malformed WAV")

// ErrCutFrame is wrapped, besides [ErrMalformed], by the [FormatError] of a
// data chunk of unknown size whose stream ends inside a frame (a writer
// stopped mid-frame, or a file still being written). The frames before it
// are returned first, so a caller may take it for the end of the stream.
var ErrCutFrame = errors.New("wav: stream ends inside a frame")

// FormatError reports a malformed or unsupported WAV stream: the chunk, its
// byte offset and what is wrong.
type FormatError struct {
	// Chunk is the four-character chunk id ("RIFF", "fmt ", "data", ...) or
	// "chunk header".
	Chunk string
	// Offset is the byte offset of the chunk in the stream.
	Offset int64
	// Reason says what is wrong.
	Reason string

	cut bool // the stream ends inside a frame of unknown-size data
}

// Error formats the error as `wav: "CHUNK" chunk at byte N: REASON`.
func (e *FormatError) Error() string {
	return fmt.Sprintf("wav: %q chunk at byte %d: %s", e.Chunk, e.Offset, e.Reason)
}

// Unwrap returns ErrMalformed, and ErrCutFrame for a stream ending inside a
// frame of unknown-size data.
func (e *FormatError) Unwrap() []error {
	if e.cut {
		return []error{ErrMalformed, ErrCutFrame}
	}
	return []error{ErrMalformed}
}

// Format is the content of a fmt chunk.
type Format struct {
	// Tag is FormatPCM or FormatIEEEFloat (WAVE_FORMAT_EXTENSIBLE resolved
	// to its subformat).
	Tag uint16
	// Channels is the number of interleaved channels.
	Channels int
	// SampleRate is the sample rate in Hz.
	SampleRate int
	// Bits is the size of one sample in bits (8, 16, 24, 32 or 64).
	Bits int
}

// BlockAlign returns the size of one frame (a sample of every channel) in
// bytes.
func (f Format) BlockAlign() int { return f.Channels * f.Bits / 8 }

// Decoder streams the data chunk of a WAV stream as mono frames. It is not
// safe for concurrent use.
type Decoder struct {
	r         io.Reader
	format    Format
	offset    int64 // bytes read from r
	dataAt    int64 // offset of the data chunk
	size      uint32
	toEnd     bool  // size is UnknownSize: read to the end of the stream
	remaining int64 // bytes of the data chunk left, unless toEnd
	decode    func([]byte) float64
	buf       []byte // the bytes of the frames being decoded, reused
	err       error  // sticky: io.EOF or the error that ended decoding
}

// NewDecoder reads the header of the stream r up to the start of its data
// chunk. A malformed or unsupported header gives a *[FormatError]; a read
// error of r is returned as it is. r should be buffered: the header is read
// a few bytes at a time.
func NewDecoder(r io.Reader) (*Decoder, error) {
	d := &Decoder{r: r}
	var riff [12]byte
	if err := d.readFull(riff[:], "RIFF", 0); err != nil {
		return nil, err
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, d.formatError("RIFF", 0, "not a RIFF/WAVE file (starts with %q ... %q)", riff[0:4], riff[8:12])
	}
	haveFormat := false
	for {
		at := d.offset
		var header [8]byte
		n, err := io.ReadFull(d.r, header[:])
		d.offset += int64(n)
		if n == 0 && errors.Is(err, io.EOF) {
			if !haveFormat {
				return nil, d.formatError("fmt ", at, "no fmt chunk in the file")
			}
			return nil, d.formatError("data", at, "no data chunk in the file")
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, d.formatError("chunk header", at, "file ends inside a chunk header")
		case err != nil:
			return nil, err
		}
		id := string(header[0:4])
		size := binary.LittleEndian.Uint32(header[4:8])
		switch id {
		case "fmt ":
			if err := d.readFormat(size, at); err != nil {
				return nil, err
			}
			haveFormat = true
		case "data":
			if !haveFormat {
				return nil, d.formatError("data", at, "data chunk before the fmt chunk")
			}
			return d, d.startData(size, at)
		default:
			skip := int64(size) + int64(size%2) // chunks are padded to even sizes
			n, err := io.CopyN(io.Discard, d.r, skip)
			d.offset += n
			switch {
			case errors.Is(err, io.EOF):
				return nil, d.formatError(id, at, "chunk of %d bytes ends early at byte %d", size, d.offset)
			case err != nil:
				return nil, err
			}
		}
	}
}

// Format returns the format of the stream.
func (d *Decoder) Format() Format { return d.format }

// Frames returns the number of frames the data chunk declares, or -1 when
// its size is unknown (the data runs to the end of the stream).
func (d *Decoder) Frames() int64 {
	if d.toEnd {
		return -1
	}
	return int64(d.size) / int64(d.format.BlockAlign())
}

func (d *Decoder) formatError(chunk string, at int64, format string, args ...any) *FormatError {
	return &FormatError{Chunk: chunk, Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// readFull reads len(buf) bytes; a short read is a *FormatError about
// chunk, any other read error is returned as it is.
func (d *Decoder) readFull(buf []byte, chunk string, at int64) error {
	n, err := io.ReadFull(d.r, buf)
	d.offset += int64(n)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return d.formatError(chunk, at, "file ends after %d bytes, inside the chunk", d.offset)
	case err != nil:
		return err
	}
	return nil
}

// readFormat reads and checks a fmt chunk of size bytes at offset at.
func (d *Decoder) readFormat(size uint32, at int64) error {
	const chunk = "fmt "
	if size < 16 || size > maxFmtChunk {
		return d.formatError(chunk, at, "size %d bytes, want 16 to %d", size, maxFmtChunk)
	}
	body := make([]byte, size+size%2)
	if err := d.readFull(body, chunk, at); err != nil {
		return err
	}
	le := binary.LittleEndian
	f := Format{
		Tag:        le.Uint16(body[0:2]),
		Channels:   int(le.Uint16(body[2:4])),
		SampleRate: int(le.Uint32(body[4:8])),
		Bits:       int(le.Uint16(body[14:16])),
	}
	blockAlign := int(le.Uint16(body[12:14]))
	if f.Tag == FormatExtensible {
		if size < 40 || le.Uint16(body[16:18]) < 22 {
			return d.formatError(chunk, at, "WAVE_FORMAT_EXTENSIBLE needs 40 bytes with a 22-byte extension, have %d", size)
		}
		guid := [16]byte(body[24:40])
		f.Tag = le.Uint16(guid[0:2])
		if guid != SubformatGUID(f.Tag) {
			return d.formatError(chunk, at, "unknown WAVE_FORMAT_EXTENSIBLE subformat % x", guid)
		}
	}
	switch {
	case f.Channels == 0:
		return d.formatError(chunk, at, "0 channels")
	case f.SampleRate < MinSampleRate || f.SampleRate > MaxSampleRate:
		return d.formatError(chunk, at, "sample rate %d Hz outside %d to %d Hz", f.SampleRate, MinSampleRate, MaxSampleRate)
	case f.Tag == FormatPCM && f.Bits != 8 && f.Bits != 16 && f.Bits != 24 && f.Bits != 32:
		return d.formatError(chunk, at, "PCM with %d bits per sample; supported: 8, 16, 24, 32", f.Bits)
	case f.Tag == FormatIEEEFloat && f.Bits != 32 && f.Bits != 64:
		return d.formatError(chunk, at, "IEEE float with %d bits per sample; supported: 32, 64", f.Bits)
	case f.Tag != FormatPCM && f.Tag != FormatIEEEFloat:
		return d.formatError(chunk, at, "format tag %#04x is not PCM (1) or IEEE float (3)", f.Tag)
	case blockAlign != f.BlockAlign():
		return d.formatError(chunk, at, "block align %d, want %d for %d channels of %d bits", blockAlign, f.BlockAlign(), f.Channels, f.Bits)
	}
	d.format = f
	return nil
}

// startData checks the header of the data chunk (size bytes at offset at)
// and prepares to decode it.
func (d *Decoder) startData(size uint32, at int64) error {
	block := d.format.BlockAlign()
	d.dataAt, d.size, d.toEnd, d.remaining = at, size, size == UnknownSize, int64(size)
	if !d.toEnd && d.remaining%int64(block) != 0 {
		return d.formatError("data", at, "size %d bytes is not a whole number of %d-byte frames", size, block)
	}
	d.decode = sampleDecoder(d.format)
	return nil
}

// Read decodes up to len(p) frames into p, each the mean of its channels: in
// [-1, 1) for PCM (integer / 2^(bits-1), as libsndfile scales them; 8-bit
// offset by 128), as stored for IEEE float. Like an io.Reader it may return
// fewer frames than len(p), and an error with the frames before it: io.EOF
// at the end of the data chunk (or of the stream, for unknown-size data), a
// *[FormatError] when the stream ends before the declared size or inside a
// frame of unknown-size data (it wraps [ErrCutFrame]), or the read error of
// the stream. Errors are sticky.
func (d *Decoder) Read(p []float32) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	block := d.format.BlockAlign()
	frames := min(len(p), max(1, readBytes/block))
	if !d.toEnd {
		frames = int(min(int64(frames), d.remaining/int64(block)))
		if frames == 0 {
			d.err = io.EOF
			return 0, d.err
		}
	}
	if len(d.buf) < frames*block {
		d.buf = make([]byte, frames*block)
	}
	got, err := io.ReadFull(d.r, d.buf[:frames*block])
	d.offset += int64(got)
	d.remaining -= int64(got)
	n := got / block
	channels, bytes := d.format.Channels, d.format.Bits/8
	for i := range n {
		frame := d.buf[i*block : (i+1)*block]
		var sum float64
		for c := range channels {
			sum += d.decode(frame[c*bytes:])
		}
		p[i] = float32(sum / float64(channels))
	}
	switch {
	case err == nil:
		return n, nil
	case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		d.err = err
	case !d.toEnd:
		d.err = d.formatError("data", d.dataAt, "chunk declares %d bytes but the file ends after %d of them", d.size, int64(d.size)-d.remaining)
	case got%block != 0:
		e := d.formatError("data", d.dataAt, "stream ends inside a %d-byte frame at byte %d", block, d.offset)
		e.cut = true
		d.err = e
	default:
		d.err = io.EOF
	}
	return n, d.err
}

// sampleDecoder returns the function converting one little-endian sample of
// format f to a float (PCM scaled by 2^-(bits-1), 8-bit offset by 128).
func sampleDecoder(f Format) func([]byte) float64 {
	le := binary.LittleEndian
	switch {
	case f.Tag == FormatIEEEFloat && f.Bits == 32:
		return func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }
	case f.Tag == FormatIEEEFloat:
		return func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }
	case f.Bits == 8:
		return func(b []byte) float64 { return (float64(b[0]) - 128) / 128 }
	case f.Bits == 16:
		return func(b []byte) float64 { return float64(int16(le.Uint16(b))) / (1 << 15) }
	case f.Bits == 24:
		return func(b []byte) float64 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float64(v) / (1 << 23)
		}
	default:
		return func(b []byte) float64 { return float64(int32(le.Uint32(b))) / (1 << 31) }
	}
}
