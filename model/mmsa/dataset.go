package mmsa

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// ErrPickle is wrapped by every error about a pickle stream that is
// damaged, truncated or uses a feature this package does not support.
var ErrPickle = errors.New("mmsa: malformed pickle")

// ErrLayout is wrapped by every error about a pickle that decodes but does
// not follow the MMSA layout (a dict of splits, each a dict of arrays).
var ErrLayout = errors.New("mmsa: not an MMSA dataset")

// ErrMissingKey is wrapped by a *FieldError when a required key is absent.
var ErrMissingKey = errors.New("missing key")

// ErrShape is wrapped by a *FieldError when an array has the wrong rank, or
// a size that disagrees with the other keys of its split.
var ErrShape = errors.New("inconsistent shape")

// ErrType is wrapped by a *FieldError when a value has an unusable type,
// such as a string array where numbers are expected.
var ErrType = errors.New("unsupported type")

// FieldError reports a problem with one key of one split.
type FieldError struct {
	// Split is the split name, such as "train".
	Split string
	// Key is the MMSA key, such as "audio".
	Key string
	// Err is ErrMissingKey, ErrShape or ErrType, possibly wrapped with
	// details.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("mmsa: split %q key %q: %v", e.Split, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Tensor3 is a dense float32 tensor of shape [N, L, D] in row-major order:
// element (n, l, d) is Data[(n*L+l)*D+d].
type Tensor3 struct {
	// N is the number of clips, L the sequence length (frames or tokens)
	// and D the feature size.
	N, L, D int
	// Data holds the N*L*D values.
	Data []float32
}

// Row returns the [L*D] slice of sample n; it shares memory with t.Data.
func (t Tensor3) Row(n int) []float32 {
	k := t.L * t.D
	return t.Data[n*k : (n+1)*k]
}

// Split is one split (train, valid or test) of an MMSA dataset. All
// per-sample slices and tensors have the same N.
type Split struct {
	// IDs are the clip ids (key "id"); CMC keys its pseudo labels by them.
	IDs []string
	// RawText is the transcript of each clip (key "raw_text").
	RawText []string
	// Text holds BERT last-layer features [N, Lt, 768] (key "text").
	Text Tensor3
	// TextBERT holds the BERT inputs [N, 3, Lt] as floats: token ids,
	// attention mask and segment ids (key "text_bert"). It is the zero
	// Tensor3 when the key is absent.
	TextBERT Tensor3
	// Audio holds zero-padded frame features [N, La, Da] (key "audio");
	// -inf values are replaced by 0 on load, as the CMC reference does.
	Audio Tensor3
	// Vision holds zero-padded frame features [N, Lv, Dv] (key "vision").
	Vision Tensor3
	// AudioLengths and VisionLengths are the number of real frames per
	// clip (keys "audio_lengths", "vision_lengths"); CMC does not use them.
	AudioLengths, VisionLengths []int
	// Regression is the multimodal sentiment score per clip (key
	// "regression_labels").
	Regression []float32
	// RegressionT, RegressionA and RegressionV are the unimodal scores
	// (keys "regression_labels_T", "_A", "_V"); nil when absent, as in the
	// MOSI and MOSEI layouts.
	RegressionT, RegressionA, RegressionV []float32
}

// Len returns the number of clips N.
func (s *Split) Len() int { return len(s.IDs) }

// Dataset is an MMSA dataset: splits by name, such as "train", "valid" and
// "test".
type Dataset struct {
	// Splits maps a split name to its data.
	Splits map[string]*Split
	// FeatureSpec is the JSON feature spec of the extractors that made the
	// dataset (cmc-stream extract writes it under the top-level key
	// "feature_spec" as a string); nil for the standard MMSA releases.
	FeatureSpec []byte
}

// FeatureSpecKey is the top-level pickle key of Dataset.FeatureSpec.
const FeatureSpecKey = "feature_spec"

// Label3 returns the 3-class label of a sentiment score: 0 (negative) if
// y < 0, 1 (neutral) if y == 0, 2 (positive) if y > 0, per
// docs/cmc-model.md §1.3 (exact float comparison, as the reference's
// np.where). NaN maps to 2, as np.where(y < 0, 0, np.where(y == 0, 1, 2))
// does.
func Label3(y float32) int {
	switch {
	case y < 0:
		return 0
	case y == 0:
		return 1
	default:
		return 2
	}
}

// Load reads an MMSA-layout pickle file such as unaligned_50.pkl or
// unaligned_39.pkl (pickle protocols 2 to 5, NumPy arrays). Every split
// needs the keys id, raw_text, text, audio, vision, audio_lengths,
// vision_lengths and regression_labels; text_bert and
// regression_labels_T/_A/_V are read when present, other keys are ignored.
func Load(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mmsa: %w", err)
	}
	defer f.Close()
	d, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return d, nil
}

// Decode reads an MMSA-layout pickle from r. It never executes code from
// the pickle; classes other than NumPy arrays, dtypes and scalars are kept
// opaque, so keys that hold them can only be ignored. The splits it returns
// hold at most decodeBudget(n) bytes for a pickle of n bytes: splits or keys
// that share one memoised array (a 4 MB pickle of many splits naming one
// split made train use 8.5 GB) are refused once past it.
func Decode(r io.Reader) (*Dataset, error) {
	cr := &countingReader{r: r}
	v, err := decodePickle(cr)
	if err != nil {
		return nil, err
	}
	budget := decodeBudget(cr.n)
	top, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %s, not a dict of splits", ErrLayout, typeName(v))
	}
	if len(top.keys) == 0 {
		return nil, fmt.Errorf("%w: no splits", ErrLayout)
	}
	d := &Dataset{Splits: make(map[string]*Split, len(top.keys))}
	for i, k := range top.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: split name is %s, not a string", ErrLayout, typeName(k))
		}
		if name == FeatureSpecKey {
			spec, ok := top.vals[i].(string)
			if !ok {
				return nil, fmt.Errorf("%w: %s is %s, not a string", ErrLayout, FeatureSpecKey, typeName(top.vals[i]))
			}
			d.FeatureSpec = []byte(spec)
			continue
		}
		sd, ok := top.vals[i].(*pyDict)
		if !ok {
			return nil, fmt.Errorf("%w: split %q is %s, not a dict", ErrLayout, name, typeName(top.vals[i]))
		}
		s, err := decodeSplit(name, sd)
		if err != nil {
			return nil, err
		}
		if budget -= s.bytes(); budget < 0 {
			return nil, fmt.Errorf("%w: split %q takes the decoded splits past %d bytes, %d times the pickle's %d bytes plus 1 MiB (splits or keys sharing one array?)",
				ErrLayout, name, decodeBudget(cr.n), budgetFactor, cr.n)
		}
		d.Splits[name] = s
	}
	return d, nil
}

// budgetFactor bounds the expansion of a pickle's arrays: an int8 id array
// becomes 8-byte ints, the widest growth Decode makes.
const budgetFactor = 8

// decodeBudget returns the most bytes the splits of an n-byte pickle may
// hold: budgetFactor times n, plus 1 MiB.
func decodeBudget(n int64) int64 { return budgetFactor*n + 1<<20 }

// bytes returns about how many bytes s holds.
func (s *Split) bytes() int64 {
	n := 4 * (len(s.Text.Data) + len(s.TextBERT.Data) + len(s.Audio.Data) + len(s.Vision.Data) +
		len(s.Regression) + len(s.RegressionT) + len(s.RegressionA) + len(s.RegressionV))
	n += 8 * (len(s.AudioLengths) + len(s.VisionLengths))
	for _, str := range append(s.IDs[:len(s.IDs):len(s.IDs)], s.RawText...) {
		n += 16 + len(str)
	}
	return int64(n)
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// MMSA keys read and written by this package.
const (
	keyRawText       = "raw_text"
	keyAudio         = "audio"
	keyVision        = "vision"
	keyID            = "id"
	keyText          = "text"
	keyTextBERT      = "text_bert"
	keyAudioLengths  = "audio_lengths"
	keyVisionLengths = "vision_lengths"
	keyClassLabels   = "classification_labels"
	keyRegression    = "regression_labels"
	keyRegressionT   = "regression_labels_T"
	keyRegressionA   = "regression_labels_A"
	keyRegressionV   = "regression_labels_V"
)

// splitReader extracts typed fields from one split dict. The first error
// sticks in err; later calls then return zero values.
type splitReader struct {
	name string
	d    *pyDict
	err  error
}

// fail records a problem with key unless an earlier one is recorded.
func (r *splitReader) fail(key string, err error) {
	if r.err == nil {
		r.err = &FieldError{Split: r.name, Key: key, Err: err}
	}
}

// array returns the ndarray under key; a Python list or tuple is accepted
// as a 1-D object array. With optional set, an absent key gives nil.
func (r *splitReader) array(key string, optional bool) *ndarray {
	if r.err != nil {
		return nil
	}
	v, ok := r.d.get(key)
	if !ok {
		if !optional {
			r.fail(key, ErrMissingKey)
		}
		return nil
	}
	switch v := v.(type) {
	case *ndarray:
		if v.dt == nil {
			r.fail(key, fmt.Errorf("%w: numpy array without state", ErrType))
			return nil
		}
		return v
	case *pyList:
		return &ndarray{shape: []int{len(v.items)}, dt: &dtype{kind: 'O'}, objs: v.items}
	case pyTuple:
		return &ndarray{shape: []int{len(v)}, dt: &dtype{kind: 'O'}, objs: v}
	}
	r.fail(key, fmt.Errorf("%w: %s, not a numpy array", ErrType, typeName(v)))
	return nil
}

func (r *splitReader) tensor3(key string, optional bool) Tensor3 {
	a := r.array(key, optional)
	if a == nil {
		return Tensor3{}
	}
	if len(a.shape) != 3 {
		r.fail(key, fmt.Errorf("%w: shape %v, want [N, L, D]", ErrShape, a.shape))
		return Tensor3{}
	}
	data, err := a.float32s()
	if err != nil {
		r.fail(key, fmt.Errorf("%w: %w", ErrType, err))
		return Tensor3{}
	}
	return Tensor3{N: a.shape[0], L: a.shape[1], D: a.shape[2], Data: data}
}

// vector returns the array under key if it holds one value per clip:
// shape (N,) or, with column set, (N, 1) as in some MMSA label arrays.
func (r *splitReader) vector(key string, optional, column bool) *ndarray {
	a := r.array(key, optional)
	if a == nil {
		return nil
	}
	if len(a.shape) == 1 || (column && len(a.shape) == 2 && a.shape[1] == 1) {
		return a
	}
	r.fail(key, fmt.Errorf("%w: shape %v, want [N]", ErrShape, a.shape))
	return nil
}

func (r *splitReader) floats(key string, optional bool) []float32 {
	a := r.vector(key, optional, true)
	if a == nil {
		return nil
	}
	v, err := a.float32s()
	if err != nil {
		r.fail(key, fmt.Errorf("%w: %w", ErrType, err))
	}
	return v
}

func (r *splitReader) ints(key string) []int {
	a := r.vector(key, false, true)
	if a == nil {
		return nil
	}
	f, err := a.float64s()
	if err != nil {
		r.fail(key, fmt.Errorf("%w: %w", ErrType, err))
		return nil
	}
	out := make([]int, len(f))
	for i, v := range f {
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			r.fail(key, fmt.Errorf("%w: item %d = %v is not a length", ErrType, i, v))
			return nil
		}
		out[i] = int(v)
	}
	return out
}

func (r *splitReader) strings(key string) []string {
	a := r.vector(key, false, false)
	if a == nil {
		return nil
	}
	s, err := a.strings()
	if err != nil {
		r.fail(key, fmt.Errorf("%w: %w", ErrType, err))
	}
	return s
}

// decodeSplit extracts and validates one split.
func decodeSplit(name string, d *pyDict) (*Split, error) {
	r := &splitReader{name: name, d: d}
	s := &Split{
		IDs:           r.strings(keyID),
		RawText:       r.strings(keyRawText),
		Text:          r.tensor3(keyText, false),
		TextBERT:      r.tensor3(keyTextBERT, true),
		Audio:         r.tensor3(keyAudio, false),
		Vision:        r.tensor3(keyVision, false),
		AudioLengths:  r.ints(keyAudioLengths),
		VisionLengths: r.ints(keyVisionLengths),
		Regression:    r.floats(keyRegression, false),
		RegressionT:   r.floats(keyRegressionT, true),
		RegressionA:   r.floats(keyRegressionA, true),
		RegressionV:   r.floats(keyRegressionV, true),
	}
	if r.err != nil {
		return nil, r.err
	}
	// The reference replaces -inf audio values by 0 (dataloader.py,
	// `self.audio[self.audio == -np.inf] = 0`).
	negInf := float32(math.Inf(-1))
	for i, v := range s.Audio.Data {
		if v == negInf {
			s.Audio.Data[i] = 0
		}
	}
	if err := s.check(name); err != nil {
		return nil, err
	}
	return s, nil
}

// check validates that every key of s agrees on N and that text_bert, when
// present, has shape [N, 3, Lt] with Lt the text length.
func (s *Split) check(name string) error {
	n := len(s.IDs)
	fail := func(key, format string, args ...any) error {
		return &FieldError{Split: name, Key: key, Err: fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)}
	}
	counts := []struct {
		key string
		n   int
	}{
		{keyRawText, len(s.RawText)},
		{keyText, s.Text.N},
		{keyAudio, s.Audio.N},
		{keyVision, s.Vision.N},
		{keyAudioLengths, len(s.AudioLengths)},
		{keyVisionLengths, len(s.VisionLengths)},
		{keyRegression, len(s.Regression)},
	}
	for _, c := range counts {
		if c.n != n {
			return fail(c.key, "%d clips, but key %q has %d", c.n, keyID, n)
		}
	}
	optional := []struct {
		key string
		v   []float32
	}{
		{keyRegressionT, s.RegressionT},
		{keyRegressionA, s.RegressionA},
		{keyRegressionV, s.RegressionV},
	}
	for _, o := range optional {
		if o.v != nil && len(o.v) != n {
			return fail(o.key, "%d clips, but key %q has %d", len(o.v), keyID, n)
		}
	}
	tensors := []struct {
		key string
		t   Tensor3
	}{
		{keyText, s.Text},
		{keyTextBERT, s.TextBERT},
		{keyAudio, s.Audio},
		{keyVision, s.Vision},
	}
	for _, t := range tensors {
		if t.t.N < 0 || t.t.L < 0 || t.t.D < 0 || len(t.t.Data) != t.t.N*t.t.L*t.t.D {
			return fail(t.key, "%d values for shape [%d, %d, %d]", len(t.t.Data), t.t.N, t.t.L, t.t.D)
		}
	}
	if tb := s.TextBERT; tb.N != 0 || tb.L != 0 || tb.D != 0 {
		if tb.N != n || tb.L != 3 || tb.D != s.Text.L {
			return fail(keyTextBERT, "shape [%d, %d, %d], want [%d, 3, %d] to match key %q",
				tb.N, tb.L, tb.D, n, s.Text.L, keyText)
		}
	}
	return nil
}

// splitOrder returns the split names with train, valid and test first, in
// that order, then the others sorted.
func (d *Dataset) splitOrder() []string {
	var names []string
	for _, n := range []string{"train", "valid", "test"} {
		if _, ok := d.Splits[n]; ok {
			names = append(names, n)
		}
	}
	var rest []string
	for n := range d.Splits {
		if n != "train" && n != "valid" && n != "test" {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}
