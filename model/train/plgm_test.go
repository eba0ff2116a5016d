package train

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
)

// TestPLGMFixture checks the target and the soft-label update against the
// reference fixture's plgm.* tensors (epoch 3, m0 0.8, γ 0.5).
func TestPLGMFixture(t *testing.T) {
	fx := loadFixture(t)
	f := fx.file
	var meta struct {
		PLGM struct {
			Epoch    int     `json:"epoch"`
			Initial  float64 `json:"init_momentum"`
			Gamma    float64 `json:"gamma"`
			Momentum float64 `json:"momentum"`
		} `json:"plgm"`
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &meta); err != nil {
		t.Fatal(err)
	}
	s := Schedule{meta.PLGM.Initial, meta.PLGM.Gamma}
	mom := s.At(meta.PLGM.Epoch)
	if math.Abs(mom-meta.PLGM.Momentum) > 1e-12 {
		t.Fatalf("momentum %v, want %v", mom, meta.PLGM.Momentum)
	}
	logits, before := f.Tensors["plgm.logits"].Data, f.Tensors["plgm.soft_before"].Data
	var target, after []float32
	for i := range len(logits) / model.Classes {
		var cur SoftLabel
		copy(cur[:], before[i*3:(i+1)*3])
		tg := PLGMTarget(logits[i*3:(i+1)*3], &cur)
		target = append(target, tg[:]...)
		store := NewPseudoLabels()
		if _, err := store.Soft("x", model.Text, 0); err != nil {
			t.Fatal(err)
		}
		store.labels["x"][model.Text] = cur
		if err := store.Update("x", model.Text, 0, logits[i*3:(i+1)*3], mom); err != nil {
			t.Fatal(err)
		}
		got, _ := store.Soft("x", model.Text, 0)
		after = append(after, got[:]...)
	}
	assertClose(t, "plgm.target", target, f.Tensors["plgm.target"].Data, 1e-6, 0)
	assertClose(t, "plgm.soft_after", after, f.Tensors["plgm.soft_after"].Data, 1e-6, 0)
}

// TestSchedule checks the momentum table of cmc-model.md §3.2.
func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Schedule
		epoch int
		want  float64
	}{
		{"label-text-e1", DefaultLabelMomentum[model.Text], 1, 0.800},
		{"label-text-e5", DefaultLabelMomentum[model.Text], 5, 0.911},
		{"label-audio-e100", DefaultLabelMomentum[model.Audio], 100, 0.999},
		{"teacher-text-e2", DefaultTeacherMomentum[model.Text], 2, 0.965},
		{"teacher-audio-e2", DefaultTeacherMomentum[model.Audio], 2, 0.997},
		{"teacher-vision-e10", DefaultTeacherMomentum[model.Vision], 10, 0.996},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.At(tc.epoch); math.Abs(got-tc.want) > 5e-4 {
				t.Errorf("At(%d) = %.4f, want %.3f", tc.epoch, got, tc.want)
			}
		})
	}
}

// TestPLGMTargetCases checks α at its analytic extremes: 0 when the
// prediction agrees with the label, 0 (ε guard) for an exact one-hot
// prediction, and the initial one-hot entry.
func TestPLGMTargetCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float32
		cur    SoftLabel
		want   SoftLabel
	}{
		{"agrees", []float32{0, 3, 1}, SoftLabel{0.2, 0.7, 0.1}, SoftLabel{0, 1, 0}},
		{"exact-one-hot", []float32{-200, 0, -200}, SoftLabel{0, 1, 0}, SoftLabel{0, 1, 0}},
		// p = (1/2, 1/2, 0) up to e^-200: g_b = g_r, so α = 0; label 0 wins the tie.
		{"tie", []float32{0, 0, -200}, SoftLabel{1, 0, 0}, SoftLabel{1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PLGMTarget(tc.logits, &tc.cur)
			for c := range got {
				if math.IsNaN(float64(got[c])) || math.Abs(float64(got[c]-tc.want[c])) > 1e-6 {
					t.Fatalf("target %v, want %v", got, tc.want)
				}
			}
		})
	}
	s := NewPseudoLabels()
	got, err := s.Soft("a", model.Audio, 2)
	if err != nil || got != (SoftLabel{0, 0, 1}) || s.Len() != 1 {
		t.Fatalf("new entry %v (%v), want one-hot of 2", got, err)
	}
	if _, err := s.Soft("b", model.Audio, 3); err == nil {
		t.Fatal("label 3 accepted")
	}
	if err := s.Update("a", model.Text, 2, []float32{1, 2}, 0.9); err == nil {
		t.Fatal("two logits accepted")
	}
}
