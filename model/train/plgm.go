package train

import (
	"fmt"
	"math"

	"github.com/cmc-stream/cmc-stream/model"
)

// Schedule is one momentum schedule of stage 1 (cmc-model.md §3.2): the
// momentum of epoch e (from 1) is 1 − (1 − Initial)/e^Gamma.
type Schedule struct {
	Initial, Gamma float64
}

// At returns the momentum of epoch e ≥ 1.
func (s Schedule) At(epoch int) float64 {
	return 1 - (1-s.Initial)/math.Pow(float64(epoch), s.Gamma)
}

// Reference stage-1 schedules by model.Modality (cmc-model.md §3.2 table).
var (
	// DefaultLabelMomentum are the pseudo-label schedules: m0 = 0.8 for
	// text and 0.99 for audio and vision, γ = 0.5.
	DefaultLabelMomentum = [model.Experts]Schedule{{0.8, 0.5}, {0.99, 0.5}, {0.99, 0.5}}
	// DefaultTeacherMomentum are the EMA-teacher schedules: m0/γ = 0.8/2.5
	// (text), 0.9/5.0 (audio) and 0.6/2.0 (vision).
	DefaultTeacherMomentum = [model.Experts]Schedule{{0.8, 2.5}, {0.9, 5.0}, {0.6, 2.0}}
)

// plgmEps guards α = (g_b − g_r)/(g_b + g_r) when the prediction is exactly
// the one-hot current label (cmc-model.md §3.8); then b = r = p and the
// target is b whatever α is, so α = 0 is exact.
const plgmEps = 1e-12

// SoftLabel is a distribution over the three classes.
type SoftLabel [model.Classes]float32

// Hard returns the argmax of s; the first index wins ties.
func (s *SoftLabel) Hard() int {
	best := 0
	for c := 1; c < model.Classes; c++ {
		if s[c] > s[best] {
			best = c
		}
	}
	return best
}

func oneHot(c int) SoftLabel {
	var s SoftLabel
	s[c] = 1
	return s
}

// PLGMTarget returns the PLGM update target t = (1−α)·b + α·r for one
// sample (cmc-model.md §3.3): p = softmax(logits), b = one-hot of the
// current hard label, r = one-hot of argmax p, α = (‖p−b‖ − ‖p−r‖) /
// (‖p−b‖ + ‖p−r‖).
func PLGMTarget(logits []float32, current *SoftLabel) SoftLabel {
	var p SoftLabel
	softmaxInto(p[:], logits)
	b, r := oneHot(current.Hard()), oneHot(p.Hard())
	var gb, gr float64
	for c := range p {
		gb += float64((p[c] - b[c]) * (p[c] - b[c]))
		gr += float64((p[c] - r[c]) * (p[c] - r[c]))
	}
	gb, gr = math.Sqrt(gb), math.Sqrt(gr)
	var alpha float32
	if gb+gr > plgmEps {
		alpha = float32((gb - gr) / (gb + gr))
	}
	var t SoftLabel
	for c := range t {
		t[c] = (1-alpha)*b[c] + alpha*r[c]
	}
	return t
}

// PseudoLabels is the PLGM soft-label store of one split: per clip id, one
// SoftLabel per modality, created as the one-hot multimodal label the first
// time the id is seen (cmc-model.md §3.1). It is not safe for concurrent
// use.
type PseudoLabels struct {
	labels map[string]*[model.Experts]SoftLabel
}

// NewPseudoLabels returns an empty store.
func NewPseudoLabels() *PseudoLabels {
	return &PseudoLabels{labels: map[string]*[model.Experts]SoftLabel{}}
}

// Len returns the number of ids in the store.
func (s *PseudoLabels) Len() int { return len(s.labels) }

// entry returns the soft labels of id, creating them from the multimodal
// label yM.
func (s *PseudoLabels) entry(id string, yM int) (*[model.Experts]SoftLabel, error) {
	if e, ok := s.labels[id]; ok {
		return e, nil
	}
	if yM < 0 || yM >= model.Classes {
		return nil, fmt.Errorf("train: pseudo label of %q: multimodal label %d, want 0..%d", id, yM, model.Classes-1)
	}
	e := &[model.Experts]SoftLabel{oneHot(yM), oneHot(yM), oneHot(yM)}
	s.labels[id] = e
	return e, nil
}

// Soft returns the current soft label of id for modality mod, creating the
// entry from the multimodal label yM if needed.
func (s *PseudoLabels) Soft(id string, mod model.Modality, yM int) (SoftLabel, error) {
	e, err := s.entry(id, yM)
	if err != nil {
		return SoftLabel{}, err
	}
	return e[mod], nil
}

// Update moves the soft label of id for modality mod toward the PLGM
// target of the student's logits: P ← m·P + (1−m)·t (cmc-model.md §3.3
// step 5).
func (s *PseudoLabels) Update(id string, mod model.Modality, yM int, logits []float32, momentum float64) error {
	if len(logits) != model.Classes {
		return fmt.Errorf("train: pseudo label of %q: %d logits, want %d", id, len(logits), model.Classes)
	}
	e, err := s.entry(id, yM)
	if err != nil {
		return err
	}
	t := PLGMTarget(logits, &e[mod])
	m := float32(momentum)
	for c := range t {
		e[mod][c] = m*e[mod][c] + (1-m)*t[c]
	}
	return nil
}

// clone returns a deep copy of the store.
func (s *PseudoLabels) clone() *PseudoLabels {
	c := NewPseudoLabels()
	for id, e := range s.labels {
		v := *e
		c.labels[id] = &v
	}
	return c
}
