package eval

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// Fixture copied from /work/shared/testdata/cmc-reference (see its README).
const (
	fixtureTensors = "../../testdata/cmc-reference/mosi-small.safetensors"
	fixtureJSON    = "../../testdata/cmc-reference/mosi-small.json"
)

// loadFixture returns the metric inputs metrics.logits [50,3] and
// metrics.truth [50] of the reference fixture.
func loadFixture(tb testing.TB) ([][3]float32, []int) {
	tb.Helper()
	f, err := safetensors.ReadFile(fixtureTensors)
	if err != nil {
		tb.Fatal(err)
	}
	lt, tt := f.Tensors["metrics.logits"], f.Tensors["metrics.truth"]
	if lt == nil || tt == nil {
		tb.Fatal("fixture lacks metrics.logits or metrics.truth")
	}
	logits := make([][3]float32, len(tt.Data))
	for i := range logits {
		copy(logits[i][:], lt.Data[3*i:3*i+3])
	}
	truth := make([]int, len(tt.Data))
	for i, v := range tt.Data {
		truth[i] = int(v)
	}
	return logits, truth
}

// referenceMetrics mirrors the "metrics" object of mosi-small.json, whose
// Non0 values are the reference's buggy ones.
type referenceMetrics struct {
	Has0Acc2 float64 `json:"Has0_acc_2"`
	Has0F1   float64 `json:"Has0_F1_score"`
	Non0Acc2 float64 `json:"Non0_acc_2"`
	Non0F1   float64 `json:"Non0_F1_score"`
	Acc3     float64 `json:"Acc_3"`
	F13      float64 `json:"F1_score_3"`
}

func TestComputeMatchesReferenceFixture(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(fixtureJSON)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Metrics map[Convention]referenceMetrics `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	logits, truth := loadFixture(t)

	for _, conv := range []Convention{SIMS, MOSI} {
		t.Run(string(conv), func(t *testing.T) {
			t.Parallel()
			want, ok := cfg.Metrics[conv]
			if !ok {
				t.Fatalf("fixture has no metrics for %q", conv)
			}
			got, err := Compute(logits, truth, conv)
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				name      string
				got, want float64
			}{
				{"Has0_acc_2", got.Has0Acc2, want.Has0Acc2},
				{"Has0_F1_score", got.Has0F1, want.Has0F1},
				{"Non0_acc_2_reference", got.Non0Acc2Reference, want.Non0Acc2},
				{"Non0_F1_score_reference", got.Non0F1Reference, want.Non0F1},
				{"Acc_3", got.Acc3, want.Acc3},
				{"F1_score_3", got.F13, want.F13},
				// Corrected Non0 by hand, from the fixture's 34 non-neutral
				// samples: 18 negative, 16 positive; the binary prediction
				// says negative 17 times, positive 17 times; 10 negatives and
				// 9 positives are right. Accuracy 19/34 = 0.558824.
				// F1(neg) = 2·10/(2·10+7+8) = 20/35, F1(pos) = 2·9/(2·9+8+7)
				// = 18/33; weighted (18·20/35 + 16·18/33)/34 = 0.559206.
				{"Non0_acc_2", got.Non0Acc2, 0.5588},
				{"Non0_F1_score", got.Non0F1, 0.5592},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestWeightedF1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		truth, pred []int
		want        float64
	}{
		{
			// The f1_score example of the scikit-learn documentation
			// (https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score):
			// average='weighted' gives 0.26666... (F1 = 0.8, 0, 0).
			name:  "sklearn docs example",
			truth: []int{0, 1, 2, 0, 1, 2},
			pred:  []int{0, 2, 1, 0, 0, 1},
			want:  0.8 * 2 / 6,
		},
		{
			// Class 1 is never predicted: scikit-learn sets its precision
			// (0/0) and so its F1 to 0 (zero_division default), yet its
			// support still weighs. F1(0) = 2·1/(2·1+1+0) = 2/3,
			// F1(2) = 2·2/(2·2+0+0) = 1; weighted (1·2/3 + 1·0 + 2·1)/4.
			name:  "class absent from predictions",
			truth: []int{0, 1, 2, 2},
			pred:  []int{0, 0, 2, 2},
			want:  (2.0/3 + 2) / 4,
		},
		{
			// Class 2 is only predicted: support 0, so it adds nothing;
			// F1(0) = 2·1/(2·1+0+1) = 2/3, F1(1) = 2·1/(2·1+0+0) = 1;
			// weighted (2·2/3 + 1·1)/3.
			name:  "class absent from truth",
			truth: []int{0, 0, 1},
			pred:  []int{0, 2, 1},
			want:  (4.0/3 + 1) / 3,
		},
		{
			name:  "perfect",
			truth: []int{2, 0, 1, 1},
			pred:  []int{2, 0, 1, 1},
			want:  1,
		},
		{
			name:  "all wrong",
			truth: []int{0, 0},
			pred:  []int{1, 1},
			want:  0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := weightedF1(tc.truth, tc.pred); !approxEqual(got, tc.want) {
				t.Errorf("weightedF1 = %v, want %v", got, tc.want)
			}
		})
	}
}

func approxEqual(a, b float64) bool {
	const tol = 1e-12 // a few float64 ulps of values in [0, 1]
	d := a - b
	return d < tol && d > -tol
}

func TestComputeHandCases(t *testing.T) {
	t.Parallel()
	// Four samples: truth negative, neutral, positive, positive.
	// Logits give argmax 0, 1, 2, 0 (3-class), and [neg, pos] argmax
	// 0, 1 (neutral sample: pos 0.5 > neg 0.2), 1, 0 (tie 1 = 1 goes to neg).
	logits := [][3]float32{
		{2, 1, 0},
		{0.2, 3, 0.5},
		{0, 1, 4},
		{1, 0.5, 1},
	}
	truth := []int{0, 1, 2, 2}
	tests := []struct {
		conv Convention
		want Result
	}{
		{
			// SIMS binary truth 0,0,1,1 vs prediction 0,1,1,0: accuracy 2/4;
			// F1(0) = 2/(2+1+1) = 0.5, F1(1) = 0.5, weighted 0.5.
			// Non0 samples 0, 2, 3: prediction 0,1,0; reference truth 0,2,2
			// gets 1/3 right, F1: class 0 = 2/(2+1) = 2/3 (support 1),
			// class 1 = 0, class 2 = 0 (support 2), weighted 2/9 = 0.2222.
			// Corrected truth 0,1,1: accuracy 2/3; F1(0) = 2/(2+1) = 2/3,
			// F1(1) = 2/(2+0+1) = 2/3, weighted 0.6667.
			// 3-class: prediction 0,1,2,0 vs 0,1,2,2: accuracy 0.75;
			// F1(0) = 2/3, F1(1) = 1, F1(2) = 2/3; weighted (2/3+1+4/3)/4 = 0.75.
			conv: SIMS,
			want: Result{Has0Acc2: 0.5, Has0F1: 0.5, Non0Acc2Reference: 0.3333, Non0F1Reference: 0.2222,
				Non0Acc2: 0.6667, Non0F1: 0.6667, Acc3: 0.75, F13: 0.75},
		},
		{
			// MOSI binary truth 0,1,1,1 vs 0,1,1,0: accuracy 3/4;
			// F1(0) = 2/(2+1) = 2/3 (support 1), F1(1) = 4/(4+1) = 0.8
			// (support 3); weighted (2/3 + 2.4)/4 = 0.7667.
			conv: MOSI,
			want: Result{Has0Acc2: 0.75, Has0F1: 0.7667, Non0Acc2Reference: 0.3333, Non0F1Reference: 0.2222,
				Non0Acc2: 0.6667, Non0F1: 0.6667, Acc3: 0.75, F13: 0.75},
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.conv), func(t *testing.T) {
			t.Parallel()
			got, err := Compute(logits, truth, tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Compute = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}

func TestComputeAllNeutral(t *testing.T) {
	t.Parallel()
	got, err := Compute([][3]float32{{0, 1, 0}, {1, 0, 2}}, []int{1, 1}, MOSI)
	if err != nil {
		t.Fatal(err)
	}
	// MOSI maps neutral to 1; the [neg, pos] predictions are 0 and 1.
	want := Result{Has0Acc2: 0.5, Has0F1: 0.6667, Acc3: 0.5, F13: 0.6667}
	if got != want {
		t.Errorf("Compute = %+v, want %+v", got, want)
	}
}

func TestComputeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		logits [][3]float32
		truth  []int
		conv   Convention
	}{
		{"length mismatch", [][3]float32{{0, 0, 1}}, []int{0, 1}, SIMS},
		{"empty", nil, nil, SIMS},
		{"unknown convention", [][3]float32{{0, 0, 1}}, []int{0}, "mosei"},
		{"class too large", [][3]float32{{0, 0, 1}}, []int{3}, MOSI},
		{"negative class", [][3]float32{{0, 0, 1}}, []int{-1}, MOSI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compute(tc.logits, tc.truth, tc.conv)
			if !errors.Is(err, ErrInput) {
				t.Fatalf("Compute error = %v, want ErrInput", err)
			}
		})
	}
}

func TestResultJSONNames(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Result{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Has0_acc_2":0,"Has0_F1_score":0,"Non0_acc_2_reference":0,"Non0_F1_score_reference":0,` +
		`"Non0_acc_2":0,"Non0_F1_score":0,"Acc_3":0,"F1_score_3":0}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
}

func TestRound4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want float64
	}{
		{5.0 / 17, 0.2941},
		{0.58, 0.58},
		{0.30252100840336, 0.3025},
		{0.125, 0.125},
		{1, 1},
	}
	for _, tc := range tests {
		if got := round4(tc.in); got != tc.want {
			t.Errorf("round4(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func BenchmarkCompute(b *testing.B) {
	logits, truth := loadFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(logits, truth, SIMS); err != nil {
			b.Fatal(err)
		}
	}
}
