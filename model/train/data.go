package train

import (
	"fmt"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

// Data holds the three splits of a training run. Text features are BERT
// last-hidden states ([N, L_t, 768], the pickles' "text" key).
type Data struct {
	Train, Valid, Test *mmsa.Split
}

// splitData is one split with its 3-class labels (cmc-model.md §1.3).
type splitData struct {
	name  string
	split *mmsa.Split
	m     []int
	// real are the dataset's unimodal labels; they equal m when the split
	// has no unimodal scores (MOSI, MOSEI).
	real [model.Experts][]int
}

func tensors(s *mmsa.Split) [model.Experts]*mmsa.Tensor3 {
	return [model.Experts]*mmsa.Tensor3{&s.Text, &s.Audio, &s.Vision}
}

// prepare checks a split against the configuration and labels it.
func prepare(name string, s *mmsa.Split, cfg *model.Config, needReal bool) (*splitData, error) {
	if s == nil || s.Len() == 0 {
		return nil, fmt.Errorf("train: split %q is missing or empty", name)
	}
	n := s.Len()
	for mod, t := range tensors(s) {
		m := model.Modality(mod)
		if t.N != n || t.L != cfg.Lengths.Get(m) || t.D != cfg.Dims.Get(m) || len(t.Data) != t.N*t.L*t.D {
			return nil, fmt.Errorf("train: split %q: %s features have shape [%d,%d,%d], want [%d,%d,%d]",
				name, m, t.N, t.L, t.D, n, cfg.Lengths.Get(m), cfg.Dims.Get(m))
		}
	}
	if len(s.Regression) != n {
		return nil, fmt.Errorf("train: split %q: %d labels for %d clips", name, len(s.Regression), n)
	}
	sd := &splitData{name: name, split: s, m: labels3(s.Regression)}
	uni := [model.Experts][]float32{s.RegressionT, s.RegressionA, s.RegressionV}
	for k, r := range uni {
		switch {
		case r == nil && needReal:
			return nil, fmt.Errorf("train: split %q has no %s labels, which CMC-GT needs", name, model.Modality(k))
		case r == nil:
			sd.real[k] = sd.m
		case len(r) != n:
			return nil, fmt.Errorf("train: split %q: %d %s labels for %d clips", name, len(r), model.Modality(k), n)
		default:
			sd.real[k] = labels3(r)
		}
	}
	return sd, nil
}

func labels3(y []float32) []int {
	out := make([]int, len(y))
	for i, v := range y {
		out[i] = mmsa.Label3(v)
	}
	return out
}

// gather copies the clips idx of s into in, reusing its buffers.
func gather(in *model.Input, s *mmsa.Split, idx []int) {
	for mod, t := range tensors(s) {
		seq := &in[mod]
		per := t.L * t.D
		seq.Batch, seq.Len, seq.Dim = len(idx), t.L, t.D
		seq.Data = grow(seq.Data, len(idx)*per)
		for i, j := range idx {
			copy(seq.Data[i*per:(i+1)*per], t.Row(j))
		}
	}
}

// batches splits 0..n−1 (in the order of perm when not nil) into batches
// of size b; the last may be shorter (drop_last is false, §1.4).
func batches(n, b int, perm []int) [][]int {
	var out [][]int
	for lo := 0; lo < n; lo += b {
		hi := min(lo+b, n)
		idx := make([]int, 0, hi-lo)
		for i := lo; i < hi; i++ {
			if perm != nil {
				idx = append(idx, perm[i])
			} else {
				idx = append(idx, i)
			}
		}
		out = append(out, idx)
	}
	return out
}
