package mmsa

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
)

// Pickle opcodes this package reads or writes, from CPython's
// Lib/pickletools.py (protocols 0 to 5); the names are CPython's.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinFloat       = 'G'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opReduce         = 'R'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opProto          = 0x80
	opNewObj         = 0x81
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadOnlyBuffer = 0x98
)

// highestProtocol is the newest pickle protocol (Python 3.8+, PEP 574).
const highestProtocol = 5

// readChunk bounds a single allocation while reading a length-prefixed
// string or bytes object, so that a damaged length field cannot make the
// reader allocate more than the input actually holds plus one chunk.
const readChunk = 1 << 20

// pyNone is Python's None.
type pyNone struct{}

// pyTuple is a Python tuple.
type pyTuple []any

// pyList is a Python list (or set); it is a pointer type because APPEND and
// APPENDS mutate a list that may also sit in the memo.
type pyList struct{ items []any }

// pyDict is a Python dict, keeping insertion order.
type pyDict struct {
	keys []any
	vals []any
}

// get returns the value stored under the string key k.
func (d *pyDict) get(k string) (any, bool) {
	for i, key := range d.keys {
		if s, ok := key.(string); ok && s == k {
			return d.vals[i], true
		}
	}
	return nil, false
}

// pyGlobal is a class or function named by GLOBAL or STACK_GLOBAL.
type pyGlobal struct{ module, name string }

// pyObject is an instance of a class this package does not interpret; it
// keeps what the pickle said so that keys nobody reads do not stop a load.
type pyObject struct {
	class pyGlobal
	args  pyTuple
	state any
}

// unpickler is a small pickle virtual machine for the binary opcodes of
// protocols 2 to 5. It builds plain Go values (see the py* types and
// ndarray) and never executes code: only the NumPy and codec callables
// listed in call are interpreted.
type unpickler struct {
	r     *bufio.Reader
	pos   int64 // offset of the next byte, for error messages
	stack []any
	marks []int
	memo  map[int]any
}

// decodePickle runs the pickle in r and returns its top-level value.
func decodePickle(r io.Reader) (any, error) {
	u := &unpickler{r: bufio.NewReaderSize(r, 1<<16), memo: make(map[int]any)}
	for {
		at := u.pos
		op, err := u.readByte()
		if err != nil {
			return nil, err
		}
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("%w at offset %d (opcode %#02x): %w", ErrPickle, at, op, err)
		}
		if done {
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, fmt.Errorf("%w: STOP with %d values and %d marks on the stack", ErrPickle, len(u.stack), len(u.marks))
			}
			return u.stack[0], nil
		}
	}
}

// step executes one opcode; it reports true on STOP.
func (u *unpickler) step(op byte) (bool, error) {
	switch op {
	case opProto:
		v, err := u.readByte()
		if err != nil {
			return false, err
		}
		if v > highestProtocol {
			return false, fmt.Errorf("unsupported protocol %d", v)
		}
	case opFrame:
		// A frame only groups opcodes for buffering; its length is a hint.
		if _, err := u.readN(8); err != nil {
			return false, err
		}
	case opStop:
		return true, nil
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		// POP on an empty mark removes the mark, as CPython's load_pop does.
		if u.markedEmpty() {
			u.marks = u.marks[:len(u.marks)-1]
		} else if _, err := u.pop(); err != nil {
			return false, err
		}
	case opPopMark:
		if _, err := u.popMark(); err != nil {
			return false, err
		}
	case opDup:
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)
	case opNone:
		u.push(pyNone{})
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinInt:
		b, err := u.readN(4)
		if err != nil {
			return false, err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		v, err := u.readByte()
		if err != nil {
			return false, err
		}
		u.push(int64(v))
	case opBinInt2:
		b, err := u.readN(2)
		if err != nil {
			return false, err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1, opLong4:
		n, err := u.readLen(op == opLong1, false)
		if err != nil {
			return false, err
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		v, err := decodeLong(b)
		if err != nil {
			return false, err
		}
		u.push(v)
	case opBinFloat:
		b, err := u.readN(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opShortBinUni, opBinUnicode, opBinUnicode8:
		b, err := u.readCounted(op == opShortBinUni, op == opBinUnicode8)
		if err != nil {
			return false, err
		}
		u.push(string(b))
	case opShortBinString, opBinString:
		// Python 2 str: decoded as latin-1, as pickle.load(encoding="latin1")
		// does, which is how NumPy expects old array data to arrive.
		b, err := u.readCounted(op == opShortBinString, false)
		if err != nil {
			return false, err
		}
		u.push(latin1ToString(b))
	case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
		b, err := u.readCounted(op == opShortBinBytes, op == opBinBytes8 || op == opByteArray8)
		if err != nil {
			return false, err
		}
		u.push(b)
	case opNextBuffer, opReadOnlyBuffer:
		return false, errors.New("out-of-band buffers are not supported")
	case opEmptyTuple:
		u.push(pyTuple{})
	case opTuple1, opTuple2, opTuple3:
		items, err := u.popN(int(op-opTuple1) + 1)
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case opEmptyList, opEmptySet:
		u.push(&pyList{})
	case opList, opFrozenSet:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: items})
	case opAppend:
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		if err := u.extend([]any{v}); err != nil {
			return false, err
		}
	case opAppends, opAddItems:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		if err := u.extend(items); err != nil {
			return false, err
		}
	case opEmptyDict:
		u.push(&pyDict{})
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := &pyDict{}
		if err := setItems(d, items); err != nil {
			return false, err
		}
		u.push(d)
	case opSetItem:
		items, err := u.popN(2)
		if err != nil {
			return false, err
		}
		if err := u.setItemsOnTop(items); err != nil {
			return false, err
		}
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		if err := u.setItemsOnTop(items); err != nil {
			return false, err
		}
	case opBinPut, opLongBinPut:
		idx, err := u.readLen(op == opBinPut, false)
		if err != nil {
			return false, err
		}
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.memo[idx] = v
	case opMemoize:
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.memo[len(u.memo)] = v
	case opBinGet, opLongBinGet:
		idx, err := u.readLen(op == opBinGet, false)
		if err != nil {
			return false, err
		}
		v, ok := u.memo[idx]
		if !ok {
			return false, fmt.Errorf("memo key %d not defined", idx)
		}
		u.push(v)
	case opGlobal:
		module, err := u.readLine()
		if err != nil {
			return false, err
		}
		name, err := u.readLine()
		if err != nil {
			return false, err
		}
		u.push(pyGlobal{module: module, name: name})
	case opStackGlobal:
		name, err := u.popString()
		if err != nil {
			return false, err
		}
		module, err := u.popString()
		if err != nil {
			return false, err
		}
		u.push(pyGlobal{module: module, name: name})
	case opReduce, opNewObj:
		argv, err := u.pop()
		if err != nil {
			return false, err
		}
		fn, err := u.pop()
		if err != nil {
			return false, err
		}
		args, ok := argv.(pyTuple)
		if !ok {
			return false, fmt.Errorf("call arguments are %s, not a tuple", typeName(argv))
		}
		v, err := call(fn, args)
		if err != nil {
			return false, err
		}
		u.push(v)
	case opNewObjEx:
		if _, err := u.pop(); err != nil { // keyword arguments
			return false, err
		}
		return u.step(opNewObj)
	case opBuild:
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		if err := build(obj, state); err != nil {
			return false, err
		}
	default:
		return false, errors.New("unsupported opcode")
	}
	return false, nil
}

var errStackUnderflow = errors.New("stack underflow")

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || u.markedEmpty() {
		return nil, errStackUnderflow
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) pop() (any, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// popN removes and returns the top n values, which must all lie above the
// last mark (CPython's Pdata_poptuple checks the same fence).
func (u *unpickler) popN(n int) ([]any, error) {
	fence := 0
	if len(u.marks) > 0 {
		fence = u.marks[len(u.marks)-1]
	}
	if len(u.stack)-n < fence {
		return nil, errStackUnderflow
	}
	items := make([]any, n)
	copy(items, u.stack[len(u.stack)-n:])
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

// markedEmpty reports whether the stack holds nothing above the last mark,
// so that an opcode cannot consume values below a MARK.
func (u *unpickler) markedEmpty() bool {
	return len(u.marks) > 0 && u.marks[len(u.marks)-1] >= len(u.stack)
}

// popMark removes and returns the values above the last mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no mark on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := make([]any, len(u.stack)-m)
	copy(items, u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) popString() (string, error) {
	v, err := u.pop()
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("global name is %s, not a string", typeName(v))
	}
	return s, nil
}

// extend appends items to the list on top of the stack.
func (u *unpickler) extend(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	l, ok := v.(*pyList)
	if !ok {
		return fmt.Errorf("append to %s, not a list", typeName(v))
	}
	l.items = append(l.items, items...)
	return nil
}

// setItemsOnTop stores key/value pairs into the dict on top of the stack.
func (u *unpickler) setItemsOnTop(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return fmt.Errorf("set item on %s, not a dict", typeName(v))
	}
	return setItems(d, items)
}

// setItems stores alternating keys and values into d, replacing the value
// of a key already present as Python does.
func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number (%d) of dict items", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		k, v := items[i], items[i+1]
		replaced := false
		if s, ok := k.(string); ok {
			for j, old := range d.keys {
				if os, ok := old.(string); ok && os == s {
					d.vals[j] = v
					replaced = true
					break
				}
			}
		}
		if !replaced {
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
		}
	}
	return nil
}

func (u *unpickler) readByte() (byte, error) {
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, truncated(err)
	}
	u.pos++
	return b, nil
}

// readN reads exactly n bytes into a new slice, growing it chunk by chunk.
func (u *unpickler) readN(n int) ([]byte, error) {
	b := make([]byte, 0, min(n, readChunk))
	for len(b) < n {
		k := min(n-len(b), readChunk)
		b = slices.Grow(b, k)
		m, err := io.ReadFull(u.r, b[len(b):len(b)+k])
		u.pos += int64(m)
		if err != nil {
			return nil, truncated(err)
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

// readLen reads an unsigned length or memo index of 1 byte (short), 8 bytes
// (long8) or 4 bytes.
func (u *unpickler) readLen(short, long8 bool) (int, error) {
	switch {
	case short:
		b, err := u.readByte()
		return int(b), err
	case long8:
		b, err := u.readN(8)
		if err != nil {
			return 0, err
		}
		n := binary.LittleEndian.Uint64(b)
		if n > uint64(math.MaxInt) {
			return 0, fmt.Errorf("length %d too large", n)
		}
		return int(n), nil
	default:
		b, err := u.readN(4)
		if err != nil {
			return 0, err
		}
		return int(binary.LittleEndian.Uint32(b)), nil
	}
}

// readCounted reads a length-prefixed byte string.
func (u *unpickler) readCounted(short, long8 bool) ([]byte, error) {
	n, err := u.readLen(short, long8)
	if err != nil {
		return nil, err
	}
	return u.readN(n)
}

// readLine reads a newline-terminated name (GLOBAL arguments).
func (u *unpickler) readLine() (string, error) {
	const maxLine = 1 << 12 // longer than any Python dotted name in practice
	var b []byte
	for {
		c, err := u.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == maxLine {
			return "", errors.New("GLOBAL name too long")
		}
		b = append(b, c)
	}
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated: %w", ErrPickle, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("mmsa: read: %w", err)
}

// decodeLong decodes a little-endian two's-complement integer (LONG1,
// LONG4); values beyond int64 are kept as *big.Int.
func decodeLong(b []byte) (any, error) {
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
			v |= math.MaxUint64 << (8 * len(b))
		}
		return int64(v), nil
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v, nil
}

// latin1ToString maps each byte to the code point of the same value.
func latin1ToString(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// stringToLatin1 inverts latin1ToString, as str.encode("latin-1") does.
func stringToLatin1(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("code point %U is not latin-1", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// typeName names the Python type of a decoded value, for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case pyNone:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return "global " + v.module + "." + v.name
	case *pyObject:
		return v.class.module + "." + v.class.name + " object"
	case *ndarray:
		return "numpy.ndarray"
	case *dtype:
		return "numpy.dtype"
	default:
		return fmt.Sprintf("%T", v)
	}
}
