package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/eval"
)

// splitLabels are one split's hard labels by modality.
type splitLabels [model.Experts][]int

// expertLabels are the stage-2 expert labels of the three splits: the
// stage-1 pseudo labels (CMC) or the dataset's unimodal labels (CMC-GT).
type expertLabels struct {
	train, valid, test splitLabels
}

// modalityParams lists the trainable tensors of branch k and head k (the
// unimodal model of stage 1), BatchNorm buffers excluded.
func modalityParams(w *model.Weights, k int) [][]float32 {
	var out [][]float32
	lin := func(l *model.Linear) {
		out = append(out, l.Weight)
		if l.Bias != nil {
			out = append(out, l.Bias)
		}
	}
	b := &w.Branches[k]
	if b.Norm != nil {
		out = append(out, b.Norm.Weight, b.Norm.Bias)
	}
	lin(&b.Proj)
	for i := range b.Layers {
		l := &b.Layers[i]
		lin(&l.InProj)
		lin(&l.OutProj)
		lin(&l.Linear1)
		lin(&l.Linear2)
		out = append(out, l.Norm1.Weight, l.Norm1.Bias, l.Norm2.Weight, l.Norm2.Bias)
	}
	h := &w.Heads[k]
	lin(&h.Proj1)
	lin(&h.Proj2)
	lin(&h.Out)
	return out
}

// copyModality copies branch k and head k from src to dst, with the
// BatchNorm running statistics (the reference's weight transfer, §5.1).
func copyModality(dst, src *model.Weights, k int) {
	d, s := modalityParams(dst, k), modalityParams(src, k)
	for i := range d {
		copy(d[i], s[i])
	}
	if n := src.Branches[k].Norm; n != nil {
		copy(dst.Branches[k].Norm.RunningMean, n.RunningMean)
		copy(dst.Branches[k].Norm.RunningVar, n.RunningVar)
	}
}

// ema updates the teacher's unimodal model k: θ_t ← μ·θ_t + (1−μ)·θ_s over
// parameters only. Like the reference, it leaves the teacher's BatchNorm
// buffers at their initial values (cmc-model.md §3.3 step 7, §9 item 3).
func ema(teacher, student *model.Weights, k int, mu float64) {
	t, s := modalityParams(teacher, k), modalityParams(student, k)
	m := float32(mu)
	for i := range t {
		for j, v := range s[i] {
			t[i][j] = m*t[i][j] + (1-m)*v
		}
	}
}

func cloneModel(m *model.Model) *model.Model {
	c := &model.Model{Config: m.Config, Weights: model.NewWeights(&m.Config)}
	src := m.Weights.Params()
	for i, p := range c.Weights.Params() {
		copy(p.Data, src[i].Data)
	}
	return c
}

func (r *runner) engineOptions(rule string, seed uint64) EngineOptions {
	return EngineOptions{Threads: r.s.Threads, EncoderDropout: r.s.EncoderDropout, OutDropout: r.s.Model.OutDropout,
		SupConRule: rule, StableSupCon: r.s.StableSupCon, Seed: seed}
}

func (r *runner) report(rep EpochReport, start time.Time) {
	rep.Duration = time.Since(start)
	if r.progress != nil {
		r.progress(rep)
	}
}

// trainEpoch runs one pass over the shuffled training split: for each
// batch it checks ctx, gathers the clips into r.in and calls step, and it
// returns the mean of step's losses.
func (r *runner) trainEpoch(ctx context.Context, rng *rand.Rand, step func(idx []int) (float64, error)) (float64, error) {
	n := r.train.split.Len()
	bs := batches(n, r.s.BatchSize, rng.Perm(n))
	var sum float64
	for _, idx := range bs {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		gather(&r.in, r.train.split, idx)
		l, err := step(idx)
		if err != nil {
			return 0, err
		}
		sum += l
	}
	return sum / float64(len(bs)), nil
}

// finite reports a diverged epoch: a training or validation loss that is
// NaN or infinite.
func finite(stage, epoch int, losses ...float64) error {
	for _, l := range losses {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("train: stage %d epoch %d: loss %v is not finite (training diverged)", stage, epoch, l)
		}
	}
	return nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// unimodalLogits applies each head to its own embedding (the stage-1
// unimodal models in eval mode, no dropout).
func unimodalLogits(m *model.Model, out *model.Output, hc *[model.Experts]headCache) [model.Experts][]float32 {
	var logits [model.Experts][]float32
	for k := range model.Experts {
		hc[k].resize(out.Batch, m.Config.EmbedDim)
		copy(hc[k].x, out.Embeddings[k])
		headForward(&m.Weights.Heads[k], &hc[k], out.Batch, dropout{}, 0)
		logits[k] = hc[k].logits
	}
	return logits
}

func toRows(dst [][3]float32, logits []float32) [][3]float32 {
	for i := 0; i+3 <= len(logits); i += 3 {
		dst = append(dst, [3]float32{logits[i], logits[i+1], logits[i+2]})
	}
	return dst
}

// stage1 runs the unimodal pretraining (cmc-model.md §3.3–3.5, §4.3, §4.4)
// and returns the selected unimodal models in one model (teachers for CMC,
// students for CMC-GT; the router is unused) and the stage-2 labels.
func (r *runner) stage1(ctx context.Context, sum *Summary) (*model.Model, *expertLabels, error) {
	gt := r.s.GroundTruth
	student, err := model.New(r.s.Model)
	if err != nil {
		return nil, nil, err
	}
	InitWeights(student.Weights, r.s.Seed)
	teacher, best := cloneModel(student), cloneModel(student)
	rule := r.s.Model.Convention
	if gt {
		rule = "sims" // q = [y > 1] in the CMC-GT script for every dataset (§4.2)
	}
	eng, err := NewEngine(student, r.engineOptions(rule, r.s.Seed))
	if err != nil {
		return nil, nil, err
	}
	opt, err := NewAdam(student.Weights, AdamConfig{LR: r.s.LR})
	if err != nil {
		return nil, nil, err
	}
	stores := [3]*PseudoLabels{NewPseudoLabels(), NewPseudoLabels(), NewPseudoLabels()}
	var saved [3]*PseudoLabels
	bestCE := [model.Experts]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	patience := r.s.Patience
	rng := newRand(r.s.Seed, 2)
	tr := r.train
	for epoch := 1; epoch <= r.s.MaxEpochs && patience > 0; epoch++ {
		start := time.Now()
		trainLoss, err := r.trainEpoch(ctx, rng, func(idx []int) (float64, error) {
			var lab Labels
			for k := range model.Experts {
				lab.Uni[k] = make([]int, len(idx))
				for i, j := range idx {
					if gt {
						lab.Uni[k][i] = tr.real[k][j]
						continue
					}
					soft, err := stores[0].Soft(tr.split.IDs[j], model.Modality(k), tr.m[j])
					if err != nil {
						return 0, err
					}
					lab.Uni[k][i] = soft.Hard()
				}
			}
			l, err := eng.Stage1(&r.in, &lab, r.step)
			r.step++
			if err != nil {
				return 0, err
			}
			if !gt {
				for k := range model.Experts {
					logits := eng.Output().ExpertLogits[k]
					for i, j := range idx {
						if err := stores[0].Update(tr.split.IDs[j], model.Modality(k), tr.m[j], logits[i*3:(i+1)*3],
							r.s.LabelMomentum[k].At(epoch)); err != nil {
							return 0, err
						}
					}
				}
			}
			if err := opt.Step(eng.Grads()); err != nil {
				return 0, err
			}
			if !gt {
				for k := range model.Experts {
					ema(teacher.Weights, student.Weights, k, r.s.TeacherMomentum[k].At(epoch))
				}
			}
			return l.Total, nil
		})
		if err != nil {
			return nil, nil, err
		}
		rep := EpochReport{Stage: 1, Epoch: epoch, TrainLoss: trainLoss}
		vce, _, err := r.stage1Eval(r.valid, stores[1], student, teacher, epoch)
		if err != nil {
			return nil, nil, err
		}
		if err := finite(1, epoch, trainLoss, vce[0], vce[1], vce[2]); err != nil {
			return nil, nil, err
		}
		_, tlog, err := r.stage1Eval(r.test, stores[2], student, teacher, epoch)
		if err != nil {
			return nil, nil, err
		}
		selected := teacher
		if gt {
			selected = student
		}
		for k := range model.Experts {
			rep.ValidCE[k] = vce[k]
			rep.ValidLoss += vce[k]
			if rep.TestUni[k], err = eval.Compute(tlog[k], r.test.real[k], eval.Convention(r.s.Model.Convention)); err != nil {
				return nil, nil, err
			}
			v := vce[k]
			if !gt {
				v = round4(v) // the PLGM script compares CE rounded to 4 decimals (§3.5)
			}
			if v < bestCE[k] {
				bestCE[k] = v
				copyModality(best.Weights, selected.Weights, k)
				sum.Stage1Best[k] = epoch
				rep.Improved = true
			}
		}
		if rep.Improved {
			patience = r.s.Patience
			if !gt {
				for i, s := range stores {
					saved[i] = s.clone()
				}
			}
		} else {
			patience--
		}
		rep.Patience = patience
		sum.Stage1Epochs = epoch
		r.report(rep, start)
	}
	labels := &expertLabels{}
	for i, sd := range []*splitData{r.train, r.valid, r.test} {
		dst := [3]*splitLabels{&labels.train, &labels.valid, &labels.test}[i]
		for k := range model.Experts {
			if gt {
				dst[k] = sd.real[k]
				continue
			}
			dst[k] = make([]int, sd.split.Len())
			for j, id := range sd.split.IDs {
				soft, err := saved[i].Soft(id, model.Modality(k), sd.m[j])
				if err != nil {
					return nil, nil, err
				}
				dst[k][j] = soft.Hard()
			}
		}
	}
	return best, labels, nil
}

// stage1Eval runs one evaluation pass of stage 1 over sd (cmc-model.md
// §3.4): labels from the store before the update, the student's eval-mode
// logits update the store, and the teacher's logits give the
// per-modality CE (sample-weighted mean) and the returned logits. For
// CMC-GT the student is evaluated on the real labels.
func (r *runner) stage1Eval(sd *splitData, store *PseudoLabels, student, teacher *model.Model, epoch int) ([model.Experts]float64, [model.Experts][][3]float32, error) {
	var ce [model.Experts]float64
	var rows [model.Experts][][3]float32
	gt := r.s.GroundTruth
	sInf := model.NewInferencer(student, model.Options{Threads: r.s.Threads})
	tInf := model.NewInferencer(teacher, model.Options{Threads: r.s.Threads})
	var out model.Output
	var hc [model.Experts]headCache
	y := make([]int, 0, r.s.BatchSize)
	for _, idx := range batches(sd.split.Len(), r.s.BatchSize, nil) {
		gather(&r.in, sd.split, idx)
		var labels [model.Experts][]int
		for k := range model.Experts {
			labels[k] = make([]int, len(idx))
			for i, j := range idx {
				if gt {
					labels[k][i] = sd.real[k][j]
					continue
				}
				soft, err := store.Soft(sd.split.IDs[j], model.Modality(k), sd.m[j])
				if err != nil {
					return ce, rows, err
				}
				labels[k][i] = soft.Hard()
			}
		}
		if err := sInf.Forward(&r.in, &out); err != nil {
			return ce, rows, err
		}
		logits := unimodalLogits(student, &out, &hc)
		if !gt {
			for k := range model.Experts {
				for i, j := range idx {
					if err := store.Update(sd.split.IDs[j], model.Modality(k), sd.m[j], logits[k][i*3:(i+1)*3],
						r.s.LabelMomentum[k].At(epoch)); err != nil {
						return ce, rows, err
					}
				}
			}
			if err := tInf.Forward(&r.in, &out); err != nil {
				return ce, rows, err
			}
			logits = unimodalLogits(teacher, &out, &hc)
		}
		for k := range model.Experts {
			y = append(y[:0], labels[k]...)
			ce[k] += crossEntropy(logits[k], y, nil) * float64(len(idx))
			rows[k] = toRows(rows[k], logits[k])
		}
	}
	for k := range ce {
		ce[k] /= float64(sd.split.Len())
	}
	return ce, rows, nil
}

// stage2 finetunes the multimodal model initialised from the stage-1
// models with a fresh router (cmc-model.md §4.5, §5.1, §5.3) and returns
// the model with the lowest validation loss.
func (r *runner) stage2(ctx context.Context, pre *model.Model, labels *expertLabels, sum *Summary) (*model.Model, error) {
	m := cloneModel(pre)
	initLinear(newRand(r.s.Seed, 3), &m.Weights.Router)
	eng, err := NewEngine(m, r.engineOptions(r.s.Model.Convention, r.s.Seed+1))
	if err != nil {
		return nil, err
	}
	opt, err := NewAdam(m.Weights, AdamConfig{LR: r.s.LR})
	if err != nil {
		return nil, err
	}
	best := cloneModel(m)
	bestLoss := math.Inf(1)
	patience := r.s.Patience
	rng := newRand(r.s.Seed, 4)
	tr := r.train
	for epoch := 1; epoch <= r.s.MaxEpochs && patience > 0; epoch++ {
		start := time.Now()
		trainLoss, err := r.trainEpoch(ctx, rng, func(idx []int) (float64, error) {
			lab := Labels{M: make([]int, len(idx))}
			for k := range model.Experts {
				lab.Uni[k] = make([]int, len(idx))
			}
			for i, j := range idx {
				lab.M[i] = tr.m[j]
				for k := range model.Experts {
					lab.Uni[k][i] = labels.train[k][j]
				}
			}
			l, err := eng.Stage2(&r.in, &lab, r.step)
			r.step++
			if err != nil {
				return 0, err
			}
			return l.Total, opt.Step(eng.Grads())
		})
		if err != nil {
			return nil, err
		}
		rep := EpochReport{Stage: 2, Epoch: epoch, TrainLoss: trainLoss}
		vloss, _, err := r.stage2Eval(r.valid, &labels.valid, m)
		if err != nil {
			return nil, err
		}
		if err := finite(2, epoch, trainLoss, vloss); err != nil {
			return nil, err
		}
		if rep.Test, err = r.testMetrics(&labels.test, m); err != nil {
			return nil, err
		}
		rep.ValidLoss = vloss
		if vloss < bestLoss {
			bestLoss = vloss
			best = cloneModel(m)
			sum.Stage2Best = epoch
			rep.Improved = true
			patience = r.s.Patience
		} else {
			patience--
		}
		rep.Patience = patience
		sum.Stage2Epochs = epoch
		r.report(rep, start)
	}
	if sum.Test, err = r.testMetrics(&labels.test, best); err != nil {
		return nil, err
	}
	sum.ValidLoss = bestLoss
	return best, nil
}

// testMetrics evaluates m on the test split (Has0 Acc-2 and the rest,
// cmc-model.md §7).
func (r *runner) testMetrics(labels *splitLabels, m *model.Model) (eval.Result, error) {
	_, logits, err := r.stage2Eval(r.test, labels, m)
	if err != nil {
		return eval.Result{}, err
	}
	return eval.Compute(logits, r.test.m, eval.Convention(r.s.Model.Convention))
}

// stage2Eval returns the eval-mode loss L2 of m on sd (sample-weighted mean
// over batches) and the fused logits.
func (r *runner) stage2Eval(sd *splitData, labels *splitLabels, m *model.Model) (float64, [][3]float32, error) {
	inf := model.NewInferencer(m, model.Options{Threads: r.s.Threads})
	var out model.Output
	var rows [][3]float32
	var total float64
	var emb []float32
	var q []bool
	for _, idx := range batches(sd.split.Len(), r.s.BatchSize, nil) {
		gather(&r.in, sd.split, idx)
		if err := inf.Forward(&r.in, &out); err != nil {
			return 0, nil, err
		}
		y := make([]int, len(idx))
		for i, j := range idx {
			y[i] = sd.m[j]
		}
		l := crossEntropy(out.Logits, y, nil)
		emb, q = emb[:0], q[:0]
		for k := range model.Experts {
			for i, j := range idx {
				y[i] = labels[k][j]
				q = append(q, supConLabel(r.s.Model.Convention, y[i]))
			}
			l += crossEntropy(out.ExpertLogits[k], y, nil)
			emb = append(emb, out.Embeddings[k]...)
		}
		l += supCon(emb, q, m.Config.EmbedDim, DefaultSupConTemperature, r.s.StableSupCon, nil)
		total += l * float64(len(idx))
		rows = toRows(rows, out.Logits)
	}
	return total / float64(sd.split.Len()), rows, nil
}
