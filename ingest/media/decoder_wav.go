package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cmc-stream/cmc-stream/internal/wav"
)

// errNotDirect means that a file is not a WAV file this package decodes
// itself; Open hands it to ffmpeg.
var errNotDirect = errors.New("media: not a directly decodable WAV file")

// wavDecoder streams the data chunk of a WAV file with internal/wav,
// averaging the channels.
type wavDecoder struct {
	f   *os.File
	dec *wav.Decoder
}

// newWAVDecoder parses the header of f up to its data chunk. It returns an
// error wrapping errNotDirect, leaving f to the caller, when f is not a WAV
// file, is malformed, uses a format internal/wav does not decode, or has
// another sample rate than rate.
func newWAVDecoder(f *os.File, rate int) (*wavDecoder, error) {
	dec, err := wav.NewDecoder(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotDirect, err)
	}
	if got := dec.Format().SampleRate; got != rate {
		return nil, fmt.Errorf("%w: %d Hz, not %d Hz", errNotDirect, got, rate)
	}
	return &wavDecoder{f: f, dec: dec}, nil
}

// read decodes whole frames into p. A data chunk of unknown size (as ffmpeg
// writes to a pipe, or a file still being written) ends at its last whole
// frame; a file that ends before its declared data size is an error after
// the frames before it.
func (d *wavDecoder) read(p []float32) (int, error) {
	n, err := d.dec.Read(p)
	switch {
	case err == nil || errors.Is(err, io.EOF):
	case errors.Is(err, wav.ErrCutFrame):
		err = io.EOF
	default:
		err = fmt.Errorf("media: reading %s: %w", d.f.Name(), err)
	}
	return n, err
}

// close closes the file.
func (d *wavDecoder) close() error { return d.f.Close() }
