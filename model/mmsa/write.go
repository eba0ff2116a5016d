package mmsa

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// writeProtocol is the pickle protocol Encode writes: 4, readable by
// Python 3.4 and later.
const writeProtocol = 4

// Write stores d at path as a protocol-4 pickle in the MMSA layout (see
// Encode). The file is written to a temporary name in the same directory
// and renamed, so a failed write leaves no partial file at path.
func Write(path string, d *Dataset) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".dataset-*.pkl")
	if err != nil {
		return fmt.Errorf("mmsa: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close() // err, the write's failure, is the one to report
			_ = os.Remove(f.Name())
		}
	}()
	if err := Encode(f, d); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); a dataset is ordinary data.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("mmsa: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mmsa: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("mmsa: %w", err)
	}
	return nil
}

// Encode writes d to w as a protocol-4 pickle of the MMSA layout that
// Python's pickle.load reads into NumPy arrays exactly as NumPy 1.x pickles
// them (numpy.core.multiarray._reconstruct plus a __setstate__ tuple; NumPy
// 2 reads these through its numpy.core compatibility module). Each split is
// a dict with the keys, in order: raw_text and id as unicode arrays ("<U"
// of the longest string, trailing NULs are lost as in NumPy), audio,
// vision, text, text_bert (only when present) as float32, audio_lengths and
// vision_lengths as int64, classification_labels (Label3 of the regression
// scores, as float32), regression_labels and regression_labels_T/_A/_V
// (those present) as float32. Splits are written train, valid, test first.
// Every split is validated as Load validates it before anything is
// written; an invalid split gives a *FieldError.
func Encode(w io.Writer, d *Dataset) error {
	if d == nil || len(d.Splits) == 0 {
		return fmt.Errorf("%w: no splits to write", ErrLayout)
	}
	names := d.splitOrder()
	for _, name := range names {
		s := d.Splits[name]
		if s == nil {
			return fmt.Errorf("%w: split %q is nil", ErrLayout, name)
		}
		if err := s.check(name); err != nil {
			return err
		}
		if err := checkStrings(name, s); err != nil {
			return err
		}
	}
	p := &pickler{w: bufio.NewWriterSize(w, 1<<16)}
	p.op(opProto, writeProtocol)
	p.op(opEmptyDict)
	p.op(opMark)
	for _, name := range names {
		p.str(name)
		p.split(d.Splits[name])
	}
	if len(d.FeatureSpec) > 0 {
		p.str(FeatureSpecKey)
		p.str(string(d.FeatureSpec))
	}
	p.op(opSetItems)
	p.op(opStop)
	if p.err == nil {
		p.err = p.w.Flush()
	}
	if p.err != nil {
		return fmt.Errorf("mmsa: write: %w", p.err)
	}
	return nil
}

// pickler writes pickle opcodes; the first write error sticks in err.
type pickler struct {
	w   *bufio.Writer
	err error
	buf [9]byte
}

func (p *pickler) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func (p *pickler) op(b ...byte) { p.write(b) }

// str writes a Python str.
func (p *pickler) str(s string) {
	if len(s) < 256 {
		p.op(opShortBinUni, byte(len(s)))
	} else {
		p.counted(opBinUnicode, opBinUnicode8, len(s))
	}
	p.write([]byte(s))
}

// bytes writes a Python bytes object.
func (p *pickler) bytes(b []byte) {
	if len(b) < 256 {
		p.op(opShortBinBytes, byte(len(b)))
	} else {
		p.counted(opBinBytes, opBinBytes8, len(b))
	}
	p.write(b)
}

// counted writes op4 with a 4-byte length, or op8 with an 8-byte length
// when n does not fit in 4 bytes.
func (p *pickler) counted(op4, op8 byte, n int) {
	if uint64(n) <= math.MaxUint32 {
		p.buf[0] = op4
		binary.LittleEndian.PutUint32(p.buf[1:], uint32(n))
		p.write(p.buf[:5])
		return
	}
	p.buf[0] = op8
	binary.LittleEndian.PutUint64(p.buf[1:], uint64(n))
	p.write(p.buf[:9])
}

// int writes a Python int in the shortest form CPython's pickler uses.
func (p *pickler) int(v int64) {
	switch {
	case v >= 0 && v <= math.MaxUint8:
		p.op(opBinInt1, byte(v))
	case v >= 0 && v <= math.MaxUint16:
		p.op(opBinInt2, byte(v), byte(v>>8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.buf[0] = opBinInt
		binary.LittleEndian.PutUint32(p.buf[1:], uint32(int32(v)))
		p.write(p.buf[:5])
	default:
		p.op(opLong1, 8)
		binary.LittleEndian.PutUint64(p.buf[:8], uint64(v))
		p.write(p.buf[:8])
	}
}

// global writes module.name with STACK_GLOBAL.
func (p *pickler) global(module, name string) {
	p.str(module)
	p.str(name)
	p.op(opStackGlobal)
}

// dtype writes numpy.dtype(desc, False, True) and its version-3 state, as
// NumPy 1.x pickles a simple dtype: (3, order, None, None, None, elsize,
// alignment, flags) with elsize and alignment -1 for fixed-size kinds, and
// flags 8 for unicode (the NPY_USE_GETITEM flag NumPy sets on it).
func (p *pickler) dtype(desc string, order string, elsize, align, flags int64) {
	p.global("numpy", "dtype")
	p.str(desc)
	p.op(opNewFalse, opNewTrue, opTuple3, opReduce)
	p.op(opMark)
	p.int(3)
	p.str(order)
	p.op(opNone, opNone, opNone)
	p.int(elsize)
	p.int(align)
	p.int(flags)
	p.op(opTuple, opBuild)
}

// array writes numpy.core.multiarray._reconstruct(numpy.ndarray, (0,),
// b"b") followed by BUILD of (1, shape, dtype, False, data).
func (p *pickler) array(shape []int, writeDtype func(), data []byte) {
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray")
	p.int(0)
	p.op(opTuple1)
	p.bytes([]byte("b"))
	p.op(opTuple3, opReduce)
	p.op(opMark)
	p.int(1)
	p.op(opMark)
	for _, d := range shape {
		p.int(int64(d))
	}
	p.op(opTuple)
	writeDtype()
	p.op(opNewFalse)
	p.bytes(data)
	p.op(opTuple, opBuild)
}

func (p *pickler) float32Array(shape []int, v []float32) {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	p.array(shape, func() { p.dtype("f4", "<", -1, -1, 0) }, data)
}

func (p *pickler) int64Array(v []int) {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(int64(x)))
	}
	p.array([]int{len(v)}, func() { p.dtype("i8", "<", -1, -1, 0) }, data)
}

// unicodeArray writes a 1-D "<U" array as wide as the longest string (at
// least 1, as NumPy makes np.array([""]) a "<U1" array).
func (p *pickler) unicodeArray(v []string) {
	width := 1
	for _, s := range v {
		width = max(width, utf8.RuneCountInString(s))
	}
	data := make([]byte, 4*width*len(v))
	for i, s := range v {
		off := 4 * width * i
		for _, r := range s {
			binary.LittleEndian.PutUint32(data[off:], uint32(r))
			off += 4
		}
	}
	elsize := int64(4 * width)
	desc := fmt.Sprintf("U%d", width)
	// Unicode dtypes: alignment 4 and flags 8, as in NumPy's own pickles
	// (see testdata/mmsa/tiny_mosi.pkl).
	p.array([]int{len(v)}, func() { p.dtype(desc, "<", elsize, 4, 8) }, data)
}

func (p *pickler) tensor(t Tensor3) {
	p.float32Array([]int{t.N, t.L, t.D}, t.Data)
}

// split writes the dict of one validated split.
func (p *pickler) split(s *Split) {
	n := s.Len()
	p.op(opEmptyDict)
	p.op(opMark)
	p.str(keyRawText)
	p.unicodeArray(s.RawText)
	p.str(keyAudio)
	p.tensor(s.Audio)
	p.str(keyVision)
	p.tensor(s.Vision)
	p.str(keyID)
	p.unicodeArray(s.IDs)
	p.str(keyText)
	p.tensor(s.Text)
	if s.TextBERT.N != 0 || s.TextBERT.L != 0 || s.TextBERT.D != 0 {
		p.str(keyTextBERT)
		p.tensor(s.TextBERT)
	}
	p.str(keyAudioLengths)
	p.int64Array(s.AudioLengths)
	p.str(keyVisionLengths)
	p.int64Array(s.VisionLengths)
	classes := make([]float32, n)
	for i, y := range s.Regression {
		classes[i] = float32(Label3(y))
	}
	p.str(keyClassLabels)
	p.float32Array([]int{n}, classes)
	p.str(keyRegression)
	p.float32Array([]int{n}, s.Regression)
	for _, o := range []struct {
		key string
		v   []float32
	}{{keyRegressionT, s.RegressionT}, {keyRegressionA, s.RegressionA}, {keyRegressionV, s.RegressionV}} {
		if o.v != nil {
			p.str(o.key)
			p.float32Array([]int{n}, o.v)
		}
	}
	p.op(opSetItems)
}

// checkStrings rejects strings that a NumPy unicode array would alter:
// NumPy strips trailing NULs.
func checkStrings(split string, s *Split) error {
	for _, f := range []struct {
		key string
		v   []string
	}{{keyID, s.IDs}, {keyRawText, s.RawText}} {
		for i, str := range f.v {
			if strings.HasSuffix(str, "\x00") {
				return &FieldError{Split: split, Key: f.key,
					Err: fmt.Errorf("%w: item %d ends in NUL, which a NumPy unicode array drops", ErrType, i)}
			}
		}
	}
	return nil
}
