package mmsa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// dtype is a decoded numpy.dtype: the kind letter of the array protocol
// ('b' bool, 'i' signed, 'u' unsigned, 'f' float, 'U' UTF-32 text, 'S'
// bytes, 'O' Python objects, anything else unsupported), the element size
// in bytes and the byte order ('<', '>', '|' or '=').
type dtype struct {
	kind  byte
	size  int
	order byte
}

// bigEndian reports whether multi-byte elements are stored big-endian.
func (d *dtype) bigEndian() bool { return d.order == '>' }

func (d *dtype) String() string {
	if d.kind == 'U' {
		return string(d.order) + "U" + strconv.Itoa(d.size/4)
	}
	return string(d.order) + string(d.kind) + strconv.Itoa(d.size)
}

// newDtype interprets the first argument of numpy.dtype(...) in a pickle,
// such as "f4", "i8", "U26", "O8" or "b1" (numpy/core/_internal.py and the
// array-interface typestr: optional byte order, kind letter, size).
func newDtype(desc string) (*dtype, error) {
	d := &dtype{order: '='}
	if desc != "" && (desc[0] == '<' || desc[0] == '>' || desc[0] == '|' || desc[0] == '=') {
		d.order = desc[0]
		desc = desc[1:]
	}
	if desc == "" {
		return nil, errors.New("empty dtype descriptor")
	}
	d.kind = desc[0]
	if len(desc) > 1 {
		n, err := strconv.Atoi(desc[1:])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("dtype descriptor %q has no valid size", desc)
		}
		d.size = n
	}
	if d.kind == 'U' {
		d.size *= 4 // the descriptor counts UCS-4 characters
	}
	return d, nil
}

// setState applies the state tuple of numpy.dtype.__setstate__:
// (version, byteorder, subarray, names, fields, elsize, alignment, flags
// [, metadata]) for versions 3 and 4 (numpy/core/src/multiarray/descriptor.c,
// arraydescr_setstate). Only the byte order and, for flexible kinds, the
// element size matter here; a structured or sub-array dtype is marked
// unsupported.
func (d *dtype) setState(state any) error {
	t, ok := state.(pyTuple)
	if !ok || len(t) < 2 {
		return fmt.Errorf("dtype state is %s, not a tuple", typeName(state))
	}
	order, ok := t[1].(string)
	if !ok || len(order) != 1 {
		return errors.New("dtype state has no byte order")
	}
	d.order = order[0]
	if len(t) >= 6 {
		if _, isNone := t[2].(pyNone); !isNone {
			d.kind = 'V'
		}
		if _, isNone := t[3].(pyNone); !isNone {
			d.kind = 'V'
		}
		if n, ok := t[5].(int64); ok && n > 0 && (d.kind == 'U' || d.kind == 'S' || d.kind == 'V') {
			if n > math.MaxInt32 {
				return fmt.Errorf("dtype element size %d too large", n)
			}
			d.size = int(n)
		}
	}
	return nil
}

// ndarray is a decoded numpy.ndarray: its shape, dtype, memory order and
// either the raw element bytes or, for object arrays, the Python objects.
type ndarray struct {
	shape   []int
	dt      *dtype
	fortran bool
	raw     []byte
	objs    []any
}

// count returns the number of elements the shape describes.
func (a *ndarray) count() int {
	n := 1
	for _, d := range a.shape {
		n *= d
	}
	return n
}

// setState applies ndarray.__setstate__: (version, shape, dtype,
// is_fortran, data) or the older form without version
// (numpy/core/src/multiarray/methods.c, array_setstate).
func (a *ndarray) setState(state any) error {
	t, ok := state.(pyTuple)
	if !ok {
		return fmt.Errorf("ndarray state is %s, not a tuple", typeName(state))
	}
	switch len(t) {
	case 5:
		t = t[1:]
	case 4:
	default:
		return fmt.Errorf("ndarray state has %d items, want 4 or 5", len(t))
	}
	dt, ok := t[1].(*dtype)
	if !ok {
		return fmt.Errorf("ndarray dtype is %s", typeName(t[1]))
	}
	fortran, err := asBool(t[2])
	if err != nil {
		return fmt.Errorf("ndarray is_fortran: %w", err)
	}
	a.dt, a.fortran = dt, fortran
	if err := a.setShape(t[0]); err != nil {
		return err
	}
	if dt.kind == 'O' {
		l, ok := t[3].(*pyList)
		if !ok {
			return fmt.Errorf("object array data is %s, not a list", typeName(t[3]))
		}
		if len(l.items) != a.count() {
			return fmt.Errorf("object array of shape %v holds %d items", a.shape, len(l.items))
		}
		a.objs = l.items
		return nil
	}
	return a.setRaw(t[3])
}

// setShape validates and stores a shape tuple.
func (a *ndarray) setShape(v any) error {
	t, ok := v.(pyTuple)
	if !ok {
		return fmt.Errorf("ndarray shape is %s, not a tuple", typeName(v))
	}
	a.shape = make([]int, len(t))
	n := 1
	for i, x := range t {
		d, ok := x.(int64)
		if !ok || d < 0 || d > math.MaxInt32 {
			return fmt.Errorf("ndarray shape %v has an invalid dimension", t)
		}
		a.shape[i] = int(d)
		if d != 0 && n > math.MaxInt32/int(d) {
			return fmt.Errorf("ndarray shape %v is too large", t)
		}
		n *= int(d)
	}
	return nil
}

// setRaw stores the element bytes of a non-object array, checking their
// length against shape and dtype. Python 2 pickles carry them as a latin-1
// string.
func (a *ndarray) setRaw(v any) error {
	var raw []byte
	switch v := v.(type) {
	case []byte:
		raw = v
	case string:
		b, err := stringToLatin1(v)
		if err != nil {
			return fmt.Errorf("ndarray data: %w", err)
		}
		raw = b
	default:
		return fmt.Errorf("ndarray data is %s, not bytes", typeName(v))
	}
	if a.dt.size == 0 {
		return fmt.Errorf("dtype %s has no element size", a.dt)
	}
	if n := a.count(); n > math.MaxInt/a.dt.size || n*a.dt.size != len(raw) {
		return fmt.Errorf("ndarray of shape %v and dtype %s needs %d bytes, got %d", a.shape, a.dt, n*a.dt.size, len(raw))
	}
	a.raw = raw
	return nil
}

// call interprets REDUCE and NEWOBJ: the NumPy reconstructors, the codec
// helper protocol-2 pickles use for bytes, and bytearray. Any other
// callable yields an opaque *pyObject.
func call(fn any, args pyTuple) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("call of %s", typeName(fn))
	}
	switch g {
	case pyGlobal{"numpy.core.multiarray", "_reconstruct"}, pyGlobal{"numpy._core.multiarray", "_reconstruct"}:
		// _reconstruct(ndarray, (0,), b"b") makes an empty array that the
		// following BUILD fills.
		return &ndarray{}, nil
	case pyGlobal{"numpy", "dtype"}:
		if len(args) == 0 {
			return nil, errors.New("numpy.dtype without arguments")
		}
		desc, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("numpy.dtype of %s", typeName(args[0]))
		}
		return newDtype(desc)
	case pyGlobal{"numpy.core.numeric", "_frombuffer"}, pyGlobal{"numpy._core.numeric", "_frombuffer"}:
		return frombuffer(args)
	case pyGlobal{"numpy.core.multiarray", "scalar"}, pyGlobal{"numpy._core.multiarray", "scalar"}:
		return scalar(args)
	case pyGlobal{"_codecs", "encode"}:
		// Protocol 2 stores bytes as _codecs.encode(str, "latin1").
		if len(args) != 2 {
			return nil, errors.New("_codecs.encode needs 2 arguments")
		}
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, errors.New("_codecs.encode supports only latin-1 strings")
		}
		return stringToLatin1(s)
	case pyGlobal{"builtins", "bytearray"}, pyGlobal{"__builtin__", "bytearray"}, pyGlobal{"builtins", "bytes"}:
		if len(args) == 0 {
			return []byte{}, nil
		}
		if b, ok := args[0].([]byte); ok && len(args) == 1 {
			return b, nil
		}
		return nil, fmt.Errorf("%s.%s of %s", g.module, g.name, typeName(args[0]))
	}
	return &pyObject{class: g, args: args}, nil
}

// build interprets BUILD for the values call creates.
func build(obj, state any) error {
	switch o := obj.(type) {
	case *ndarray:
		return o.setState(state)
	case *dtype:
		return o.setState(state)
	case *pyObject:
		o.state = state
		return nil
	default:
		return fmt.Errorf("BUILD on %s", typeName(obj))
	}
}

// frombuffer interprets numpy.core.numeric._frombuffer(buf, dtype, shape,
// order), which NumPy uses for protocol 5 (numpy/core/numeric.py).
func frombuffer(args pyTuple) (*ndarray, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_frombuffer needs 4 arguments, got %d", len(args))
	}
	dt, ok := args[1].(*dtype)
	if !ok {
		return nil, fmt.Errorf("_frombuffer dtype is %s", typeName(args[1]))
	}
	if dt.kind == 'O' {
		return nil, errors.New("_frombuffer of an object dtype")
	}
	order, ok := args[3].(string)
	if !ok || (order != "C" && order != "F") {
		return nil, errors.New("_frombuffer order must be \"C\" or \"F\"")
	}
	a := &ndarray{dt: dt, fortran: order == "F"}
	if err := a.setShape(args[2]); err != nil {
		return nil, err
	}
	if err := a.setRaw(args[0]); err != nil {
		return nil, err
	}
	return a, nil
}

// scalar interprets numpy.core.multiarray.scalar(dtype, data), the pickled
// form of a NumPy scalar such as numpy.str_ or numpy.float32, returning a
// Go string, float64 or the object itself.
func scalar(args pyTuple) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("scalar needs 2 arguments, got %d", len(args))
	}
	dt, ok := args[0].(*dtype)
	if !ok {
		return nil, fmt.Errorf("scalar dtype is %s", typeName(args[0]))
	}
	if dt.kind == 'O' {
		return args[1], nil
	}
	a := &ndarray{dt: dt}
	if err := a.setRaw(args[1]); err != nil {
		return nil, err
	}
	if dt.kind == 'U' || dt.kind == 'S' {
		s, err := a.strings()
		if err != nil {
			return nil, err
		}
		return s[0], nil
	}
	f, err := a.float64s()
	if err != nil {
		return nil, err
	}
	return f[0], nil
}

// float64s returns the elements in C order as float64. Bool, integer and
// float dtypes are accepted, and object arrays of Python numbers.
func (a *ndarray) float64s() ([]float64, error) {
	n := a.count()
	out := make([]float64, n)
	if a.dt.kind == 'O' {
		for i, v := range a.objs {
			f, err := asFloat(v)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = f
		}
		return fortranToC(out, a.shape, a.fortran), nil
	}
	dec, err := numericDecoder(a.dt)
	if err != nil {
		return nil, err
	}
	size := a.dt.size
	for i := range out {
		out[i] = dec(a.raw[i*size : (i+1)*size])
	}
	return fortranToC(out, a.shape, a.fortran), nil
}

// float32s returns the elements in C order as float32, converting other
// numeric dtypes as numpy's astype(np.float32) does.
func (a *ndarray) float32s() ([]float32, error) {
	if a.dt.kind == 'f' && a.dt.size == 4 {
		// Fast path for the common case: float32 data.
		order := binary.ByteOrder(binary.LittleEndian)
		if a.dt.bigEndian() {
			order = binary.BigEndian
		}
		out := make([]float32, a.count())
		for i := range out {
			out[i] = math.Float32frombits(order.Uint32(a.raw[4*i:]))
		}
		return fortranToC(out, a.shape, a.fortran), nil
	}
	f64, err := a.float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f64))
	for i, v := range f64 {
		out[i] = float32(v)
	}
	return out, nil
}

// numericDecoder returns a function decoding one element of dt.
func numericDecoder(dt *dtype) (func([]byte) float64, error) {
	order := binary.ByteOrder(binary.LittleEndian)
	if dt.bigEndian() {
		order = binary.BigEndian
	}
	switch {
	case dt.kind == 'b' && dt.size == 1:
		return func(b []byte) float64 {
			if b[0] != 0 {
				return 1
			}
			return 0
		}, nil
	case dt.kind == 'f' && dt.size == 4:
		return func(b []byte) float64 { return float64(math.Float32frombits(order.Uint32(b))) }, nil
	case dt.kind == 'f' && dt.size == 8:
		return func(b []byte) float64 { return math.Float64frombits(order.Uint64(b)) }, nil
	case dt.kind == 'i' && dt.size == 1:
		return func(b []byte) float64 { return float64(int8(b[0])) }, nil
	case dt.kind == 'i' && dt.size == 2:
		return func(b []byte) float64 { return float64(int16(order.Uint16(b))) }, nil
	case dt.kind == 'i' && dt.size == 4:
		return func(b []byte) float64 { return float64(int32(order.Uint32(b))) }, nil
	case dt.kind == 'i' && dt.size == 8:
		return func(b []byte) float64 { return float64(int64(order.Uint64(b))) }, nil
	case dt.kind == 'u' && dt.size == 1:
		return func(b []byte) float64 { return float64(b[0]) }, nil
	case dt.kind == 'u' && dt.size == 2:
		return func(b []byte) float64 { return float64(order.Uint16(b)) }, nil
	case dt.kind == 'u' && dt.size == 4:
		return func(b []byte) float64 { return float64(order.Uint32(b)) }, nil
	case dt.kind == 'u' && dt.size == 8:
		return func(b []byte) float64 { return float64(order.Uint64(b)) }, nil
	}
	return nil, fmt.Errorf("dtype %s is not a supported numeric type", dt)
}

// strings returns the elements in C order as strings: numpy unicode ('U',
// UTF-32) and bytes ('S') arrays lose their trailing NULs as numpy strips
// them on access; object arrays must hold str, bytes or numpy.str_ items.
func (a *ndarray) strings() ([]string, error) {
	n := a.count()
	out := make([]string, n)
	switch a.dt.kind {
	case 'O':
		for i, v := range a.objs {
			switch s := v.(type) {
			case string:
				out[i] = s
			case []byte:
				out[i] = string(s)
			default:
				return nil, fmt.Errorf("item %d is %s, not a string", i, typeName(v))
			}
		}
	case 'U':
		order := binary.ByteOrder(binary.LittleEndian)
		if a.dt.bigEndian() {
			order = binary.BigEndian
		}
		size := a.dt.size
		if size%4 != 0 {
			return nil, fmt.Errorf("unicode element size %d is not a multiple of 4", size)
		}
		for i := range out {
			e := a.raw[i*size : (i+1)*size]
			r := make([]rune, 0, size/4)
			for j := 0; j < size; j += 4 {
				c := rune(order.Uint32(e[j:]))
				if !utf8.ValidRune(c) {
					return nil, fmt.Errorf("item %d holds invalid code point %#x", i, uint32(c))
				}
				r = append(r, c)
			}
			for len(r) > 0 && r[len(r)-1] == 0 {
				r = r[:len(r)-1]
			}
			out[i] = string(r)
		}
	case 'S':
		size := a.dt.size
		for i := range out {
			e := a.raw[i*size : (i+1)*size]
			for len(e) > 0 && e[len(e)-1] == 0 {
				e = e[:len(e)-1]
			}
			out[i] = string(e)
		}
	default:
		return nil, fmt.Errorf("dtype %s is not a string type", a.dt)
	}
	return fortranToC(out, a.shape, a.fortran), nil
}

// fortranToC reorders elements stored in Fortran (column-major) order into
// C (row-major) order; other arrays are returned unchanged.
func fortranToC[T any](src []T, shape []int, fortran bool) []T {
	if !fortran || len(shape) < 2 {
		return src
	}
	dst := make([]T, len(src))
	idx := make([]int, len(shape)) // multi-index of dst position i, C order
	for i := range dst {
		off, stride := 0, 1
		for k := range shape {
			off += idx[k] * stride
			stride *= shape[k]
		}
		dst[i] = src[off]
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return dst
}

func asBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	}
	return false, fmt.Errorf("%s is not a bool", typeName(v))
}

func asFloat(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%s is not a number", typeName(v))
}
