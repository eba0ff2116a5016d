package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := &File{
		Tensors: map[string]*Tensor{
			"b": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			"a": {Shape: []int{}, Data: []float32{-7.5}},
			"i": {DType: "I64", Shape: []int{1}, Raw: []byte{1, 0, 0, 0, 0, 0, 0, 0}},
		},
		Metadata: map[string]string{"k": "v"},
	}
	var buf bytes.Buffer
	if err := Encode(&buf, in); err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(buf.Bytes()); hl%8 != 0 {
		t.Errorf("header length %d not 8-aligned", hl)
	}
	out, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out.Metadata["k"] != "v" {
		t.Errorf("metadata %v", out.Metadata)
	}
	if got := out.Tensors["b"]; got.DType != "F32" || got.Data[5] != 6 || got.Shape[1] != 3 {
		t.Errorf("b = %+v", got)
	}
	if got := out.Tensors["a"]; got.Data[0] != -7.5 || len(got.Shape) != 0 {
		t.Errorf("a = %+v", got)
	}
	if got := out.Tensors["i"]; got.DType != "I64" || got.Raw[0] != 1 {
		t.Errorf("i = %+v", got)
	}
	var again bytes.Buffer
	if err := Encode(&again, out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("re-encoding changed the bytes")
	}
}

// TestReferenceFixture reads a file written by the Python safetensors library.
func TestReferenceFixture(t *testing.T) {
	f, err := ReadFile("../../testdata/cmc-reference/mosi-small.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	w := f.Tensors["weight.proj_l.weight"]
	if w == nil || len(w.Shape) != 3 || w.Shape[0] != 32 || w.Shape[1] != 768 || w.Shape[2] != 1 {
		t.Fatalf("weight.proj_l.weight = %+v", w)
	}
	if f.Metadata["config"] == "" {
		t.Error("missing __metadata__.config")
	}
}

func TestMalformed(t *testing.T) {
	good := func() []byte {
		var b bytes.Buffer
		_ = Encode(&b, &File{Tensors: map[string]*Tensor{"x": {Shape: []int{2}, Data: []float32{1, 2}}}})
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header too long", func() []byte { b := good(); binary.LittleEndian.PutUint64(b, 1<<40); return b }()},
		{"truncated data", func() []byte { b := good(); return b[:len(b)-1] }()},
		{"bad json", append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, '{', 'x')},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Decode(c.data); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}
