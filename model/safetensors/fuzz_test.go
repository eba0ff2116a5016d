package safetensors

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error wraps
// ErrFormat, and that what it accepts encodes and decodes to the same
// tensors.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, &File{Tensors: map[string]*Tensor{"x": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}, Metadata: map[string]string{"k": "v"}})
	f.Add(b.Bytes())
	if raw, err := os.ReadFile("../../testdata/cmc-reference/mosi-small.safetensors"); err == nil {
		f.Add(raw[:4096])
	}
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, file); err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		back, err := Decode(out.Bytes())
		if err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
		for name, tensor := range file.Tensors {
			got := back.Tensors[name]
			if got == nil || got.DType != tensor.DType || len(got.Data) != len(tensor.Data) || !bytes.Equal(got.Raw, tensor.Raw) {
				t.Fatalf("tensor %q changed in a round trip", name)
			}
		}
	})
}
