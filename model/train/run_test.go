package train

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

func loadTiny(t testing.TB, name string) Data {
	t.Helper()
	ds, err := mmsa.Load("../../testdata/mmsa/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return Data{Train: ds.Splits["train"], Valid: ds.Splits["valid"], Test: ds.Splits["test"]}
}

func flatten(m *model.Model) []float32 {
	var out []float32
	for _, p := range m.Weights.Params() {
		out = append(out, p.Data...)
	}
	return out
}

// TestRunTiny runs both stages on the tiny MMSA fixtures (testdata/mmsa)
// for CMC and CMC-GT, twice each, and checks that the runs are
// byte-identical, that every epoch is reported with finite losses, and that
// the summary agrees with the reports.
func TestRunTiny(t *testing.T) {
	for _, tc := range []struct {
		name, file, conv string
		gt               bool
	}{
		{"mosi-plgm", "tiny_mosi.pkl", "mosi", false},
		{"sims-plgm", "tiny_sims.pkl", "sims", false},
		{"sims-gt", "tiny_sims.pkl", "sims", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := loadTiny(t, tc.file)
			s := Settings{Model: model.Config{Convention: tc.conv, Layers: 1, Heads: 2, OutDropout: 0.2},
				MaxEpochs: 3, Patience: 2, BatchSize: 4, Seed: 7, Threads: 2, GroundTruth: tc.gt}
			var reports []EpochReport
			m1, sum1, err := Run(context.Background(), s, data, func(r EpochReport) { reports = append(reports, r) })
			if err != nil {
				t.Fatal(err)
			}
			m2, sum2, err := Run(context.Background(), s, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(flatten(m1), flatten(m2)) || sum1 != sum2 {
				t.Fatal("two runs with the same seed differ")
			}
			if len(reports) != sum1.Stage1Epochs+sum1.Stage2Epochs {
				t.Fatalf("%d reports for %d+%d epochs", len(reports), sum1.Stage1Epochs, sum1.Stage2Epochs)
			}
			var best float64 = math.Inf(1)
			for _, r := range reports {
				for _, v := range []float64{r.TrainLoss, r.ValidLoss} {
					if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
						t.Fatalf("stage %d epoch %d: loss %v", r.Stage, r.Epoch, v)
					}
				}
				if r.Stage == 2 {
					best = math.Min(best, r.ValidLoss)
				}
			}
			if best != sum1.ValidLoss {
				t.Errorf("summary validation loss %v, best reported %v", sum1.ValidLoss, best)
			}
			if sum1.Test.Has0Acc2 < 0 || sum1.Test.Has0Acc2 > 1 {
				t.Errorf("test Has0 Acc-2 %v", sum1.Test.Has0Acc2)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	data := loadTiny(t, "tiny_mosi.pkl")
	cfg := model.Config{Convention: "mosi", Layers: 1, Heads: 2}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Run(ctx, Settings{Model: cfg, MaxEpochs: 1}, data, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
	for _, tc := range []struct {
		name string
		s    Settings
		data Data
		want string
	}{
		{"gt-without-unimodal-labels", Settings{Model: cfg, GroundTruth: true}, data, "no text labels"},
		{"missing-split", Settings{Model: cfg}, Data{Train: data.Train}, "splits are all required"},
		{"bad-heads", Settings{Model: model.Config{Convention: "mosi", Layers: 1, Heads: 5}}, data, "nhead"},
		{"bad-schedule", Settings{Model: cfg, LabelMomentum: [3]Schedule{{Initial: 2}}}, data, "schedule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Run(context.Background(), tc.s, tc.data, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "train: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestEMA checks the teacher update against its closed form and that the
// BatchNorm buffers are left alone (cmc-model.md §3.3 step 7).
func TestEMA(t *testing.T) {
	m, _, _ := randomCase(t, 1, 1, 8, 2, 3)
	teacher := cloneModel(m)
	for _, p := range teacher.Weights.Params() {
		for i := range p.Data {
			p.Data[i] = 1
		}
	}
	ema(teacher.Weights, m.Weights, int(model.Audio), 0.75)
	tp := teacher.Weights.Params()
	for i, p := range m.Weights.Params() {
		audio := strings.HasSuffix(strings.SplitN(p.Name, ".", 2)[0], "_a") || strings.HasSuffix(p.Name, "s.1.weight") || strings.HasSuffix(p.Name, "s.1.bias")
		for j, v := range p.Data {
			want := float32(1)
			if audio && !p.Buffer {
				want = 0.75 + 0.25*v
			}
			if math.Abs(float64(tp[i].Data[j]-want)) > 1e-6 {
				t.Fatalf("%s[%d] = %v, want %v", p.Name, j, tp[i].Data[j], want)
			}
		}
	}
}

func TestFinite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		losses []float64
		ok     bool
	}{
		{"finite", []float64{1, 0.5}, true},
		{"nan", []float64{1, math.NaN()}, false},
		{"inf", []float64{math.Inf(1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := finite(2, 3, tc.losses...)
			if (err == nil) != tc.ok {
				t.Fatalf("finite(%v) = %v", tc.losses, err)
			}
			if err != nil && !strings.Contains(err.Error(), "stage 2 epoch 3") {
				t.Errorf("error %q does not name the epoch", err)
			}
		})
	}
}
