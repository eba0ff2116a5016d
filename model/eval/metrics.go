package eval

import (
	"errors"
	"fmt"
	"math"
)

// Class codes of the 3-class labels (docs/cmc-model.md §1.3).
const (
	negative = 0
	neutral  = 1
	positive = 2
)

// Convention selects how the Has0 metrics binarise the neutral class.
type Convention string

const (
	// SIMS is the CH-SIMS / CH-SIMS v2 convention: neutral counts as
	// non-positive (truth 1 only for the positive class).
	SIMS Convention = "sims"
	// MOSI is the CMU-MOSI / CMU-MOSEI convention: neutral counts as
	// non-negative (truth 1 for the neutral and positive classes).
	MOSI Convention = "mosi"
)

// ErrInput is wrapped by every error about invalid arguments to [Compute].
var ErrInput = errors.New("eval: invalid input")

// Result holds the metrics of one evaluation, each rounded to 4 decimals.
// The JSON names match the keys of the reference's result dictionary; the
// reference's buggy Non0 values carry the suffix "_reference".
type Result struct {
	// Has0Acc2 is the binary accuracy over all samples (the model-selection
	// metric of the reference).
	Has0Acc2 float64 `json:"Has0_acc_2"`
	// Has0F1 is the weighted F1 of the same binary task.
	Has0F1 float64 `json:"Has0_F1_score"`
	// Non0Acc2Reference is the reference's Non0 accuracy, comparing the
	// binary prediction with the raw classes {0, 2}.
	Non0Acc2Reference float64 `json:"Non0_acc_2_reference"`
	// Non0F1Reference is the reference's Non0 weighted F1, with the same bug.
	Non0F1Reference float64 `json:"Non0_F1_score_reference"`
	// Non0Acc2 is the corrected binary accuracy over the non-neutral samples.
	// It is 0 when every sample is neutral.
	Non0Acc2 float64 `json:"Non0_acc_2"`
	// Non0F1 is the corrected weighted F1 over the non-neutral samples.
	// It is 0 when every sample is neutral.
	Non0F1 float64 `json:"Non0_F1_score"`
	// Acc3 is the 3-class accuracy.
	Acc3 float64 `json:"Acc_3"`
	// F13 is the 3-class weighted F1.
	F13 float64 `json:"F1_score_3"`
}

// Compute returns the metrics of logits (one row of negative, neutral and
// positive logits per sample) against truth (one class in {0, 1, 2} per
// sample) under the given convention. It returns an error wrapping ErrInput
// when the lengths differ, the input is empty, a class is out of range or the
// convention is unknown.
func Compute(logits [][3]float32, truth []int, conv Convention) (Result, error) {
	if len(logits) != len(truth) {
		return Result{}, fmt.Errorf("%w: %d logit rows but %d truth labels", ErrInput, len(logits), len(truth))
	}
	if len(truth) == 0 {
		return Result{}, fmt.Errorf("%w: no samples", ErrInput)
	}
	if conv != SIMS && conv != MOSI {
		return Result{}, fmt.Errorf("%w: unknown convention %q", ErrInput, string(conv))
	}
	for i, c := range truth {
		if c < negative || c > positive {
			return Result{}, fmt.Errorf("%w: truth[%d] = %d is not a class in {0, 1, 2}", ErrInput, i, c)
		}
	}

	n := len(truth)
	pred3 := make([]int, n)
	pred2 := make([]int, n)
	truth2 := make([]int, n)
	var nonPred, nonTruthRaw, nonTruth []int
	for i, l := range logits {
		pred3[i] = argmax3(l)
		// Ties go to negative: numpy.argmax returns the first maximum.
		if l[positive] > l[negative] {
			pred2[i] = 1
		}
		truth2[i] = binaryTruth(truth[i], conv)
		if truth[i] != neutral {
			nonPred = append(nonPred, pred2[i])
			nonTruthRaw = append(nonTruthRaw, truth[i])
			nonTruth = append(nonTruth, boolInt(truth[i] == positive))
		}
	}

	r := Result{
		Has0Acc2: round4(accuracy(truth2, pred2)),
		Has0F1:   round4(weightedF1(truth2, pred2)),
		Acc3:     round4(accuracy(truth, pred3)),
		F13:      round4(weightedF1(truth, pred3)),
	}
	if len(nonTruth) > 0 {
		r.Non0Acc2Reference = round4(accuracy(nonTruthRaw, nonPred))
		r.Non0F1Reference = round4(weightedF1(nonTruthRaw, nonPred))
		r.Non0Acc2 = round4(accuracy(nonTruth, nonPred))
		r.Non0F1 = round4(weightedF1(nonTruth, nonPred))
	}
	return r, nil
}

// binaryTruth maps a 3-class label to the Has0 binary truth of conv.
func binaryTruth(c int, conv Convention) int {
	if conv == SIMS {
		return boolInt(c == positive)
	}
	return boolInt(c >= neutral)
}

// argmax3 returns the index of the largest logit, the first one on ties
// (numpy.argmax semantics).
func argmax3(l [3]float32) int {
	best := 0
	for k := 1; k < 3; k++ {
		if l[k] > l[best] {
			best = k
		}
	}
	return best
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// accuracy returns the fraction of positions where truth and pred agree;
// both are non-empty and of equal length.
func accuracy(truth, pred []int) float64 {
	hits := 0
	for i, t := range truth {
		if pred[i] == t {
			hits++
		}
	}
	return float64(hits) / float64(len(truth))
}

// maxLabel bounds the labels weightedF1 accepts: 0, 1 and 2.
const maxLabel = positive

// weightedF1 returns scikit-learn's f1_score(truth, pred, average="weighted")
// for labels in [0, maxLabel]: the per-class F1 2·TP/(2·TP+FP+FN) over the
// classes present in truth or pred (0 when TP is 0), weighted by the class
// support in truth.
func weightedF1(truth, pred []int) float64 {
	var tp, fp, fn, support [maxLabel + 1]int
	for i, t := range truth {
		p := pred[i]
		support[t]++
		if p == t {
			tp[t]++
		} else {
			fp[p]++
			fn[t]++
		}
	}
	// A class present only in pred has support 0, so it adds nothing to the
	// weighted sum, exactly as in scikit-learn.
	var sum float64
	for c := range support {
		if tp[c] == 0 {
			continue
		}
		f1 := 2 * float64(tp[c]) / float64(2*tp[c]+fp[c]+fn[c])
		sum += f1 * float64(support[c])
	}
	return sum / float64(len(truth))
}

// round4 rounds x to 4 decimals the way numpy.round does: scale, round half
// to even, unscale.
func round4(x float64) float64 {
	return math.RoundToEven(x*1e4) / 1e4
}
