package wav

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadFile decodes a whole WAV file: its frames (each the mean of its
// channels, in [-1, 1]) and its format.
func ReadFile(path string) ([]float32, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Format{}, err
	}
	defer f.Close()
	d, err := NewDecoder(f)
	if err != nil {
		return nil, Format{}, fmt.Errorf("%s: %w", path, err)
	}
	var out []float32
	buf := make([]float32, 4096)
	for {
		n, err := d.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, d.Format(), nil
		}
		if err != nil {
			return nil, Format{}, fmt.Errorf("%s: %w", path, err)
		}
	}
}
