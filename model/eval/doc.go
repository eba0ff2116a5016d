// Package eval computes the evaluation metrics of the Calibrated Multimodal
// Consensus model (CMC, arXiv 2510.20256) from 3-class logits, exactly as the
// reference implementation (gw-zhong/CMC, src/eval_metrics.py, commit ee0c296)
// computes them, plus corrected versions of the two metrics the reference gets
// wrong.
//
// Classes are 0 = negative, 1 = neutral, 2 = positive (docs/cmc-model.md §1.3).
// The metrics, per docs/cmc-model.md §7, are:
//
//   - Acc_3 and F1_score_3: accuracy and weighted F1 of the argmax of the three
//     logits against the 3-class truth.
//   - Has0_acc_2 and Has0_F1_score: the prediction is the argmax over the
//     negative and positive logits only (the neutral logit is ignored, ties go
//     to negative); the truth is binarised by the [Convention]: "sims" maps
//     neutral to 0 (non-positive vs positive), "mosi" maps neutral to 1
//     (negative vs non-negative).
//   - Non0_acc_2 and Non0_F1_score: the same binary prediction on the samples
//     whose truth is not neutral, against truth == positive.
//   - Non0_acc_2_reference and Non0_F1_score_reference: the reference's
//     version, which compares the binary prediction {0, 1} with the raw class
//     {0, 2}, so a correct positive counts as wrong.
//
// Weighted F1 follows scikit-learn's f1_score(average="weighted"): per-class
// F1 over the classes present in the truth or the prediction, a class with no
// true positives scoring 0, averaged with the class supports in the truth as
// weights. Every value is rounded to 4 decimals, half to even on the scaled
// value, as NumPy's round does for the numpy.float64 values that older
// scikit-learn versions return to the reference's round(x, 4). (Python's
// round of a plain float, which recent scikit-learn versions return, can
// differ in the last decimal only when x·10⁴ lies within an ulp of a
// half-integer.)
//
// The package is pure Go; its functions are safe for concurrent use.
package eval
