package mmsa

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Fixtures copied from /work/shared/testdata/mmsa (see its README); the
// expected values in tiny_expected.json come from CPython's own unpickler
// (testdata/mmsa/make_expected.py).
const (
	mosiPath     = "../../testdata/mmsa/tiny_mosi.pkl"
	simsPath     = "../../testdata/mmsa/tiny_sims.pkl"
	expectedPath = "../../testdata/mmsa/tiny_expected.json"
)

type tensorSummary struct {
	Shape  []int   `json:"shape"`
	First  float64 `json:"first"`
	Last   float64 `json:"last"`
	Middle float64 `json:"middle"`
	Sum    float64 `json:"sum"`
}

type splitSummary struct {
	ID            []string      `json:"id"`
	RawText       []string      `json:"raw_text"`
	AudioLengths  []int         `json:"audio_lengths"`
	VisionLengths []int         `json:"vision_lengths"`
	Regression    []float32     `json:"regression_labels"`
	RegressionT   []float32     `json:"regression_labels_T"`
	RegressionA   []float32     `json:"regression_labels_A"`
	RegressionV   []float32     `json:"regression_labels_V"`
	Classes       []float32     `json:"classification_labels"`
	Text          tensorSummary `json:"text"`
	TextBERT      tensorSummary `json:"text_bert"`
	Audio         tensorSummary `json:"audio"`
	Vision        tensorSummary `json:"vision"`
}

func loadExpected(t *testing.T) map[string]map[string]splitSummary {
	t.Helper()
	b, err := os.ReadFile(expectedPath)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]splitSummary
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

func checkTensor(t *testing.T, key string, got Tensor3, want tensorSummary) {
	t.Helper()
	if shape := []int{got.N, got.L, got.D}; !reflect.DeepEqual(shape, want.Shape) {
		t.Errorf("%s shape = %v, want %v", key, shape, want.Shape)
		return
	}
	n := len(got.Data)
	// The summary values are float32 values printed by Python: exact.
	for _, c := range []struct {
		what string
		got  float32
		want float64
	}{{"first", got.Data[0], want.First}, {"last", got.Data[n-1], want.Last}, {"middle", got.Data[n/2], want.Middle}} {
		if float64(c.got) != c.want {
			t.Errorf("%s %s = %v, want %v", key, c.what, c.got, c.want)
		}
	}
	var sum float64
	for _, v := range got.Data {
		sum += float64(v)
	}
	// Python summed the same float32 values in float64 in the same order.
	if sum != want.Sum {
		t.Errorf("%s sum = %v, want %v", key, sum, want.Sum)
	}
}

func TestLoadFixtures(t *testing.T) {
	t.Parallel()
	want := loadExpected(t)
	for _, path := range []string{mosiPath, simsPath} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			d, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			w := want[filepath.Base(path)]
			if len(d.Splits) != len(w) {
				t.Fatalf("%d splits, want %d", len(d.Splits), len(w))
			}
			for name, ws := range w {
				s := d.Splits[name]
				if s == nil {
					t.Fatalf("split %q missing", name)
				}
				for _, c := range []struct {
					key       string
					got, want any
				}{
					{"id", s.IDs, ws.ID},
					{"raw_text", s.RawText, ws.RawText},
					{"audio_lengths", s.AudioLengths, ws.AudioLengths},
					{"vision_lengths", s.VisionLengths, ws.VisionLengths},
					{"regression_labels", s.Regression, ws.Regression},
					{"regression_labels_T", s.RegressionT, ws.RegressionT},
					{"regression_labels_A", s.RegressionA, ws.RegressionA},
					{"regression_labels_V", s.RegressionV, ws.RegressionV},
				} {
					if !reflect.DeepEqual(c.got, c.want) {
						t.Errorf("%s/%s = %v, want %v", name, c.key, c.got, c.want)
					}
				}
				checkTensor(t, name+"/text", s.Text, ws.Text)
				checkTensor(t, name+"/text_bert", s.TextBERT, ws.TextBERT)
				checkTensor(t, name+"/audio", s.Audio, ws.Audio)
				checkTensor(t, name+"/vision", s.Vision, ws.Vision)
				// The fixture's classification_labels are the 3-class labels
				// of its regression scores.
				for i, y := range s.Regression {
					if got := Label3(y); float32(got) != ws.Classes[i] {
						t.Errorf("%s: Label3(%v) = %d, fixture class %v", name, y, got, ws.Classes[i])
					}
				}
			}
		})
	}
}

// Variant values, from the formulas in testdata/mmsa/make_variants.py.
func variantText(n, l, d int) float32   { return float32(100*n+10*l) + float32(d)/2 }
func variantBERT(n, r, l int) float32   { return float32(1000*r + 10*n + l) }
func variantVision(n, l, d int) float32 { return float32(n + l + d) }
func variantAudio(n, l, d int) float32 {
	if n == 1 && l == 1 && d == 2 {
		return 0 // -inf in the file, replaced by 0 on load
	}
	return float32(-(n+1)*(l+1)) + float32(d)/4
}

func fill(n, l, d int, f func(n, l, d int) float32) Tensor3 {
	t := Tensor3{N: n, L: l, D: d, Data: make([]float32, 0, n*l*d)}
	for i := range n {
		for j := range l {
			for k := range d {
				t.Data = append(t.Data, f(i, j, k))
			}
		}
	}
	return t
}

// variantSplit is the split every variant_*.pkl holds under "test".
func variantSplit(unimodal, boolVision bool) *Split {
	s := &Split{
		IDs:           []string{"clip-a", "clip-b"},
		RawText:       []string{"héllo wörld", ""},
		Text:          fill(2, 3, 4, variantText),
		TextBERT:      fill(2, 3, 3, variantBERT),
		Audio:         fill(2, 2, 3, variantAudio),
		Vision:        fill(2, 3, 2, variantVision),
		AudioLengths:  []int{2, 1},
		VisionLengths: []int{3, 2},
		Regression:    []float32{-0.5, 0},
	}
	if boolVision {
		s.Vision = fill(2, 3, 2, func(n, l, d int) float32 { return float32((n + l + d) % 2) })
	}
	if unimodal {
		s.RegressionT = []float32{0.25, -1}
		s.RegressionA = []float32{0, 1}
		s.RegressionV = []float32{1, 0}
	}
	return s
}

func TestLoadVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want *Split
	}{
		{"variant_p2.pkl", variantSplit(true, false)},  // protocol 2, float64, int32, object strings
		{"variant_p3.pkl", variantSplit(false, true)},  // protocol 3, big-endian, bool, (N, 1) labels
		{"variant_p4.pkl", variantSplit(false, false)}, // protocol 4, NumPy scalars, "S" strings, f8/i2/u2/u1
		{"variant_p5.pkl", variantSplit(true, false)},  // protocol 5, _frombuffer, Fortran order, lists
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d, err := Load("../../testdata/mmsa/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Splits["test"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("split test =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestTensor3Row(t *testing.T) {
	t.Parallel()
	x := fill(2, 3, 4, variantText)
	row := x.Row(1)
	if len(row) != 12 || row[0] != variantText(1, 0, 0) || row[11] != variantText(1, 2, 3) {
		t.Errorf("Row(1) = %v", row)
	}
}

func TestLabel3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		y    float32
		want int
	}{
		{-1, 0},
		{-1e-30, 0},
		{float32(math.Copysign(0, -1)), 1}, // -0 == 0
		{0, 1},
		{1e-30, 2},
		{3, 2},
		{float32(math.NaN()), 2}, // np.where(nan < 0, 0, np.where(nan == 0, 1, 2)) is 2
	}
	for _, tc := range tests {
		if got := Label3(tc.y); got != tc.want {
			t.Errorf("Label3(%v) = %d, want %d", tc.y, got, tc.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, path := range []string{mosiPath, simsPath} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			d, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "rt.pkl")
			if err := Write(out, d); err != nil {
				t.Fatal(err)
			}
			back, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, d) {
				t.Error("dataset changed in a write/load round trip")
			}
		})
	}
}

// TestFeatureSpecRoundTrip checks the top-level feature_spec string that
// cmc-stream extract adds beside the splits.
func TestFeatureSpecRoundTrip(t *testing.T) {
	d, err := Load(mosiPath)
	if err != nil {
		t.Fatal(err)
	}
	if d.FeatureSpec != nil {
		t.Fatalf("the MMSA fixture has a feature spec: %q", d.FeatureSpec)
	}
	d.FeatureSpec = []byte(`{"audio":{"name":"librosa-mmsa33-rms"}}`)
	out := filepath.Join(t.TempDir(), "spec.pkl")
	if err := Write(out, d); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.FeatureSpec) != string(d.FeatureSpec) || len(back.Splits) != 3 {
		t.Errorf("feature spec %q, %d splits", back.FeatureSpec, len(back.Splits))
	}
}

// TestWriteMatchesNumPyEncoding checks that every array the writer emits
// decodes to the same shape, dtype and bytes as the one NumPy wrote into
// tiny_mosi.pkl (whose strings are unicode arrays, as the writer's are).
func TestWriteMatchesNumPyEncoding(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(mosiPath)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := decodePickle(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, d); err != nil {
		t.Fatal(err)
	}
	written, err := decodePickle(&buf)
	if err != nil {
		t.Fatal(err)
	}
	wd := written.(*pyDict)
	for i, k := range orig.(*pyDict).keys {
		split := k.(string)
		os := orig.(*pyDict).vals[i].(*pyDict)
		wv, ok := wd.get(split)
		if !ok {
			t.Fatalf("split %q not written", split)
		}
		ws := wv.(*pyDict)
		for j, kk := range os.keys {
			key := kk.(string)
			if key == "annotations" { // not part of the written layout
				continue
			}
			w, ok := ws.get(key)
			if !ok {
				t.Errorf("%s/%s not written", split, key)
				continue
			}
			want := os.vals[j].(*ndarray)
			got := w.(*ndarray)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s/%s: written %v %s, NumPy wrote %v %s", split, key, got.shape, got.dt, want.shape, want.dt)
			}
		}
	}
}

func TestNegativeInfinityAudio(t *testing.T) {
	t.Parallel()
	s := variantSplit(false, false)
	s.Audio.Data[0] = float32(math.Inf(-1))
	s.Audio.Data[1] = float32(math.Inf(1)) // only -inf is replaced
	var buf bytes.Buffer
	if err := Encode(&buf, &Dataset{Splits: map[string]*Split{"train": s}}); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Splits["train"].Audio.Data
	if a[0] != 0 || !math.IsInf(float64(a[1]), 1) {
		t.Errorf("audio[0:2] = %v, want [0 +Inf]", a[:2])
	}
}

// TestDecodeValues runs pickles written by CPython 3.11 pickle.dumps.
func TestDecodeValues(t *testing.T) {
	t.Parallel()
	list7 := &pyList{items: []any{int64(7)}}
	big70 := mustBig(t, "-1180591620717411303424")
	tests := []struct {
		name string
		hex  string // pickle.dumps(value, protocol).hex()
		want any
	}{
		{"float 1.5", "8004950a00000000000000473ff80000000000002e", 1.5},
		{"int -1", "80049506000000000000004affffffff2e", int64(-1)},
		{"int 300", "80049504000000000000004d2c012e", int64(300)},
		{"int 2**40", "80049509000000000000008a060000000000012e", int64(1 << 40)},
		{"int -2**70", "8004950c000000000000008a090000000000000000c02e", big70},
		{"empty tuple", "8004292e", pyTuple{}},
		{"tuple (1, 2) protocol 2", "80024b014b028671002e", pyTuple{int64(1), int64(2)}},
		{"list [1, 2, 3]", "8004950b000000000000005d94284b014b024b03652e", &pyList{items: []any{int64(1), int64(2), int64(3)}}},
		{"dict {'a': None}", "80049509000000000000007d948c0161944e732e", &pyDict{keys: []any{"a"}, vals: []any{pyNone{}}}},
		{"[True, False] protocol 2", "80025d7100288889652e", &pyList{items: []any{true, false}}},
		{"bytes protocol 3", "80034302787971002e", []byte("xy")},
		{"unicode", "80049509000000000000008c05c3a9e4b8ad942e", "é中"},
		{"shared list [l, l]", "8004950c000000000000005d94285d944b07616801652e", &pyList{items: []any{list7, list7}}},
		{"set {5}", "80049507000000000000008f94284b05902e", &pyList{items: []any{int64(5)}}},
		{"frozenset {6}", "8004950600000000000000284b0691942e", &pyList{items: []any{int64(6)}}},
		{"bytearray protocol 5", "8005950c000000000000009601000000000000007a942e", []byte("z")},
		{"bytearray protocol 4", "80049522000000000000008c086275696c74696e73948c0962797465617272617994939443017a94859452942e", []byte("z")},
		// Python 2 str (SHORT_BINSTRING, hand-assembled per pickletools):
		// decoded as latin-1, as pickle.load(..., encoding="latin1") does.
		{"py2 str", "800255036162ff2e", "ab\u00ff"},
		{"bytes protocol 2", "8002635f636f646563730a656e636f64650a7100580300000000c3bf710158060000006c6174696e3171028671035271042e", []byte{0, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodePickle(bytes.NewReader(mustHex(t, tc.hex)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(simsPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrPickle},
		{"truncated header", raw[:1], ErrPickle},
		{"truncated in array data", raw[:len(raw)/2], ErrPickle},
		{"missing STOP", raw[:len(raw)-1], ErrPickle},
		{"unknown opcode", []byte{0x80, 4, 0xff}, ErrPickle},
		{"protocol 6", []byte{0x80, 6, '}', '.'}, ErrPickle},
		{"stack underflow", []byte{0x80, 4, 0x85, '.'}, ErrPickle},
		{"undefined memo", []byte{0x80, 4, 'h', 3, '.'}, ErrPickle},
		{"SETITEMS on a list", []byte{0x80, 4, ']', '(', 'K', 1, 'K', 2, 'u', '.'}, ErrPickle},
		{"two values at STOP", []byte{0x80, 4, 'N', 'N', '.'}, ErrPickle},
		{"huge length", []byte{0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, '.'}, ErrPickle},
		{"out-of-band buffer", []byte{0x80, 5, 0x97, '.'}, ErrPickle},
		{"top level not a dict", []byte{0x80, 4, 'N', '.'}, ErrLayout},
		{"no splits", []byte{0x80, 4, '}', '.'}, ErrLayout},
		{"split not a dict", []byte{0x80, 4, '}', 0x8c, 1, 'x', 'N', 's', '.'}, ErrLayout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSplitErrors edits the decoded dict of the tiny_sims train split and
// checks that the error names the split and the key.
func TestSplitErrors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(simsPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		edit func(d *pyDict) // applied to a fresh decode of the train split
		want error
	}{
		{"missing id", "id", func(d *pyDict) { remove(d, "id") }, ErrMissingKey},
		{"missing audio", "audio", func(d *pyDict) { remove(d, "audio") }, ErrMissingKey},
		{"missing regression", "regression_labels", func(d *pyDict) { remove(d, "regression_labels") }, ErrMissingKey},
		{"audio from valid split", "audio", func(d *pyDict) { replace(d, "audio", otherSplit(t, raw, "valid", "audio")) }, ErrShape},
		{"labels from test split", "regression_labels_T", func(d *pyDict) {
			replace(d, "regression_labels_T", otherSplit(t, raw, "test", "regression_labels_T"))
		}, ErrShape},
		{"text_bert length", "text_bert", func(d *pyDict) { replace(d, "text_bert", get(d, "text")) }, ErrShape},
		{"vision 1-D", "vision", func(d *pyDict) { replace(d, "vision", get(d, "regression_labels")) }, ErrShape},
		{"audio as strings", "audio", func(d *pyDict) {
			a := *get(d, "raw_text").(*ndarray)
			a.shape = []int{10, 1, 1}
			replace(d, "audio", &a)
		}, ErrType},
		{"id as floats", "id", func(d *pyDict) { replace(d, "id", get(d, "regression_labels")) }, ErrType},
		{"fractional lengths", "audio_lengths", func(d *pyDict) { replace(d, "audio_lengths", get(d, "regression_labels")) }, ErrType},
		{"text not an array", "text", func(d *pyDict) { replace(d, "text", "oops") }, ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			top, err := decodePickle(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			train := get(top.(*pyDict), "train").(*pyDict)
			tc.edit(train)
			_, err = decodeSplit("train", train)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want a FieldError wrapping %v", err, tc.want)
			}
			if fe.Split != "train" || fe.Key != tc.key {
				t.Errorf("error names split %q key %q, want %q %q", fe.Split, fe.Key, "train", tc.key)
			}
			if msg := err.Error(); !strings.Contains(msg, `split "train" key "`+tc.key+`"`) {
				t.Errorf("message %q does not name the split and key", msg)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	nul := variantSplit(false, false)
	nul.IDs[1] = "clip-b\x00"
	short := variantSplit(true, false)
	short.RegressionA = short.RegressionA[:1]
	badShape := variantSplit(false, false)
	badShape.Vision.D = 3
	tests := []struct {
		name string
		d    *Dataset
		want error
		key  string
	}{
		{"nil", nil, ErrLayout, ""},
		{"no splits", &Dataset{}, ErrLayout, ""},
		{"nil split", &Dataset{Splits: map[string]*Split{"train": nil}}, ErrLayout, ""},
		{"trailing NUL", &Dataset{Splits: map[string]*Split{"valid": nul}}, ErrType, "id"},
		{"short unimodal labels", &Dataset{Splits: map[string]*Split{"valid": short}}, ErrShape, "regression_labels_A"},
		{"data does not fit shape", &Dataset{Splits: map[string]*Split{"valid": badShape}}, ErrShape, "vision"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := Encode(&buf, tc.d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode error = %v, want %v", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes before failing", buf.Len())
			}
			var fe *FieldError
			if tc.key != "" && (!errors.As(err, &fe) || fe.Key != tc.key) {
				t.Errorf("error %v does not name key %q", err, tc.key)
			}
		})
	}
}

func TestWriteLeavesNoPartialFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.pkl")
	if err := Write(path, &Dataset{}); err == nil {
		t.Fatal("Write of an empty dataset succeeded")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("directory holds %d files after a failed write", len(entries))
	}
}

func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile(simsPath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	d, err := Load(simsPath)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, d); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
