// Package safetensors reads and writes the safetensors tensor file format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping tensor names to dtype, shape and byte
// offsets, then the raw little-endian tensor bytes.
//
// Only the F32 dtype is decoded into values; other dtypes are kept as raw
// bytes so that a file can still be listed. The package is pure Go.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// MaxHeaderBytes bounds the JSON header a reader accepts (100 MiB, the limit
// the reference Rust implementation uses).
const MaxHeaderBytes = 100 << 20

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("safetensors: malformed file")

// Tensor is one named tensor. Data holds the values for F32 tensors in
// row-major order; Raw holds the bytes of tensors of other dtypes.
type Tensor struct {
	DType string
	Shape []int
	Data  []float32
	Raw   []byte
}

// Size returns the number of elements the shape describes.
func (t *Tensor) Size() int { return ShapeSize(t.Shape) }

// ShapeSize returns the product of the dimensions (1 for a scalar).
func ShapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// File is the content of a safetensors file.
type File struct {
	Tensors  map[string]*Tensor
	Metadata map[string]string
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type headerEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

var dtypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
	"U16": 2, "U32": 4, "U64": 8,
}

// ReadFile reads and decodes the safetensors file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode parses a whole safetensors file held in memory. It checks that
// every tensor's byte range matches its dtype and shape, lies inside the
// data section and overlaps no other tensor's, so that the tensors together
// hold at most the file's bytes (3,000 tensors naming the same 4 MiB would
// otherwise decode to 12 GB). It does not check that values are finite:
// callers decide.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderBytes || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%w: header length %d does not fit a %d-byte file", ErrFormat, n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	data := b[8+n:]
	f := &File{Tensors: make(map[string]*Tensor, len(raw))}
	entries := make(map[string]headerEntry, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__: %v", ErrFormat, err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		entries[name] = e
	}
	if err := checkOverlap(entries); err != nil {
		return nil, err
	}
	for name, e := range entries {
		t, err := decodeTensor(name, e, data)
		if err != nil {
			return nil, err
		}
		f.Tensors[name] = t
	}
	return f, nil
}

// checkOverlap reports two tensors whose byte ranges overlap (empty ranges
// overlap nothing), naming both.
func checkOverlap(entries map[string]headerEntry) error {
	names := make([]string, 0, len(entries))
	for name, e := range entries {
		if e.Offsets[1] > e.Offsets[0] {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := entries[names[i]].Offsets, entries[names[j]].Offsets
		return a[0] < b[0] || a[0] == b[0] && names[i] < names[j]
	})
	for i := 1; i < len(names); i++ {
		prev, cur := entries[names[i-1]].Offsets, entries[names[i]].Offsets
		if cur[0] < prev[1] {
			return fmt.Errorf("%w: tensor %q at bytes [%d,%d] overlaps tensor %q at [%d,%d]", ErrFormat, names[i], cur[0], cur[1], names[i-1], prev[0], prev[1])
		}
	}
	return nil
}

func decodeTensor(name string, e headerEntry, data []byte) (*Tensor, error) {
	size, ok := dtypeSize[e.DType]
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrFormat, name, e.DType)
	}
	count := 1
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && count > math.MaxInt32/d) {
			return nil, fmt.Errorf("%w: tensor %q: bad shape %v", ErrFormat, name, e.Shape)
		}
		count *= d
	}
	lo, hi := e.Offsets[0], e.Offsets[1]
	if lo < 0 || hi < lo || hi > len(data) {
		return nil, fmt.Errorf("%w: tensor %q: offsets [%d,%d] outside the %d-byte data section", ErrFormat, name, lo, hi, len(data))
	}
	if hi-lo != count*size {
		return nil, fmt.Errorf("%w: tensor %q: %d bytes for %s shape %v, want %d", ErrFormat, name, hi-lo, e.DType, e.Shape, count*size)
	}
	t := &Tensor{DType: e.DType, Shape: append([]int{}, e.Shape...)}
	buf := data[lo:hi]
	if e.DType == "F32" {
		t.Data = make([]float32, count)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	} else {
		t.Raw = append([]byte{}, buf...)
	}
	return t, nil
}

// Encode writes f in the safetensors format. Tensors are laid out in sorted
// name order, so the same content always gives the same bytes. Tensors with
// Data are written as F32; others must carry Raw bytes and their DType.
func Encode(w io.Writer, f *File) error {
	names := f.Names()
	header := make(map[string]any, len(names)+1)
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	off := 0
	for _, name := range names {
		t := f.Tensors[name]
		n, dtype := len(t.Raw), t.DType
		if t.Data != nil || dtype == "" || dtype == "F32" {
			n, dtype = 4*len(t.Data), "F32"
			if len(t.Data) != ShapeSize(t.Shape) {
				return fmt.Errorf("safetensors: tensor %q: %d values for shape %v", name, len(t.Data), t.Shape)
			}
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[name] = headerEntry{DType: dtype, Shape: shape, Offsets: [2]int{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces to a multiple of 8 bytes, as the reference
	// writer does, so the data section is aligned.
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, name := range names {
		t := f.Tensors[name]
		var out []byte
		if t.Data != nil || t.DType == "" || t.DType == "F32" {
			out = make([]byte, 4*len(t.Data))
			for i, v := range t.Data {
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
			}
		} else {
			out = t.Raw
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile encodes f into the file at path, replacing it.
func WriteFile(path string, f *File) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Encode(out, f); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
