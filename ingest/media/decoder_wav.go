package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// WAVE format tags (Microsoft mmreg.h) and the size a streaming encoder
// writes when it cannot seek back to fill it in.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xFFFE
	sizeUnknown   = 0xFFFFFFFF
)

// errNotDirect means that a file is not a WAV file this package decodes
// itself; Open hands it to ffmpeg.
var errNotDirect = errors.New("media: not a directly decodable WAV file")

// wavDecoder streams the data chunk of a WAV file, averaging the channels.
type wavDecoder struct {
	f         *os.File
	r         *bufio.Reader
	tag       uint16
	channels  int
	bytes     int    // per sample
	remaining uint64 // bytes of the data chunk left; sizeUnknown reads to EOF
	frameSize int    // bytes per frame
	buf       []byte // the bytes of the frames being decoded, reused
}

// newWAVDecoder parses the header of f up to its data chunk. It returns an
// error wrapping errNotDirect, leaving f to the caller, when f is not a WAV
// file, uses a format this decoder does not handle, or has another sample
// rate than rate.
func newWAVDecoder(f *os.File, rate int) (*wavDecoder, error) {
	r := bufio.NewReader(f)
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, errNotDirect
	}
	d := &wavDecoder{f: f, r: r}
	haveFmt := false
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk", errNotDirect)
		}
		id, size := string(hdr[0:4]), binary.LittleEndian.Uint32(hdr[4:8])
		switch {
		case id == "fmt " && size >= 16 && size <= 1024:
			body := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, body); err != nil {
				return nil, fmt.Errorf("%w: short fmt chunk", errNotDirect)
			}
			if err := d.parseFormat(body[:size], rate); err != nil {
				return nil, err
			}
			haveFmt = true
		case id == "data" && haveFmt:
			d.remaining = uint64(size)
			d.frameSize = d.channels * d.bytes
			return d, nil
		default: // LIST, fact, ... (chunks are padded to even sizes)
			if _, err := r.Discard(int(size) + int(size%2)); err != nil {
				return nil, fmt.Errorf("%w: truncated %q chunk", errNotDirect, id)
			}
		}
	}
}

// parseFormat reads a fmt chunk body.
func (d *wavDecoder) parseFormat(b []byte, rate int) error {
	d.tag = binary.LittleEndian.Uint16(b[0:2])
	d.channels = int(binary.LittleEndian.Uint16(b[2:4]))
	sampleRate := binary.LittleEndian.Uint32(b[4:8])
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if d.tag == tagExtensible && len(b) >= 26 {
		d.tag = binary.LittleEndian.Uint16(b[24:26]) // the GUID's first two bytes
	}
	d.bytes = bits / 8
	switch {
	case d.channels == 0 || bits%8 != 0:
		return fmt.Errorf("%w: %d channels of %d bits", errNotDirect, d.channels, bits)
	case d.tag == tagPCM && d.bytes >= 1 && d.bytes <= 4, d.tag == tagFloat && (d.bytes == 4 || d.bytes == 8):
	default:
		return fmt.Errorf("%w: format tag %#x with %d bits", errNotDirect, d.tag, bits)
	}
	if int(sampleRate) != rate {
		return fmt.Errorf("%w: %d Hz, not %d Hz", errNotDirect, sampleRate, rate)
	}
	return nil
}

// read decodes whole frames into p. A final partial frame is ignored.
func (d *wavDecoder) read(p []float32) (int, error) {
	frameBytes := d.frameSize
	n := len(p)
	if d.remaining != sizeUnknown {
		n = int(min(uint64(n), d.remaining/uint64(frameBytes)))
		if n == 0 {
			return 0, io.EOF
		}
	}
	if cap(d.buf) < n*frameBytes {
		d.buf = make([]byte, n*frameBytes)
	}
	got, err := io.ReadFull(d.r, d.buf[:n*frameBytes])
	n = got / frameBytes
	if d.remaining != sizeUnknown {
		d.remaining -= uint64(n * frameBytes)
	}
	for i := range n {
		frame := d.buf[i*frameBytes : (i+1)*frameBytes]
		var sum float64
		for c := range d.channels {
			sum += d.sample(frame[c*d.bytes : (c+1)*d.bytes])
		}
		p[i] = float32(sum / float64(d.channels))
	}
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return n, io.EOF // the file ends early or, with sizeUnknown, here
	case err != nil:
		return n, fmt.Errorf("media: reading %s: %w", d.f.Name(), err)
	}
	return n, nil
}

// sample decodes one little-endian sample to [-1, 1).
func (d *wavDecoder) sample(b []byte) float64 {
	if d.tag == tagFloat {
		if d.bytes == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	}
	if d.bytes == 1 { // 8-bit PCM is unsigned
		return (float64(b[0]) - 128) / 128
	}
	var v int32 // the sample in the top bits, sign-extended by the shift
	for i, x := range b {
		v |= int32(x) << (8 * (4 - len(b) + i))
	}
	return float64(v) / (1 << 31)
}

// close closes the file.
func (d *wavDecoder) close() error { return d.f.Close() }
