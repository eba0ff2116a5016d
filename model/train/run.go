package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/eval"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

// Reference run settings (cmc-model.md §1.4, §5.2, §5.3).
const (
	// DefaultMaxEpochs bounds each stage (reference: 100 epochs).
	DefaultMaxEpochs = 100
	// DefaultPatience is the number of epochs without validation
	// improvement before a stage stops (reference: 10).
	DefaultPatience = 10
	// DefaultBatchSize is the reference batch size.
	DefaultBatchSize = 64
	// DefaultLR is the reference --lr of the non-BERT parameters.
	DefaultLR = 1e-3
	// DefaultThreads is the number of goroutines sharing a batch.
	DefaultThreads = 2
)

// Settings configures a training run. Zero values select the defaults
// noted per field.
type Settings struct {
	// Model is the architecture: Convention, Layers, Heads, OutDropout and
	// the optional EmbedDim, Temperature and TopK. Zero Dims and Lengths
	// are taken from the training split.
	Model model.Config
	// MaxEpochs bounds each stage (default DefaultMaxEpochs).
	MaxEpochs int
	// Patience is the number of epochs without validation improvement
	// after which a stage stops (default DefaultPatience).
	Patience int
	// BatchSize is the number of clips per batch (default DefaultBatchSize).
	BatchSize int
	// Seed determines the initialisation, the shuffling and the dropout
	// masks. The same Seed, data and Threads give the same bytes.
	Seed uint64
	// LR is Adam's learning rate for every parameter (default DefaultLR).
	// The reference's stage-1 audio and vision optimisers always use 1e-3
	// (§9 item 13); the two agree at the default.
	LR float64
	// Threads is the number of goroutines per batch (default
	// DefaultThreads).
	Threads int
	// EncoderDropout is the dropout inside the encoders: 0 means the
	// reference 0.1, a negative value disables it.
	EncoderDropout float64
	// GroundTruth selects CMC-GT: stage 1 trains on the dataset's unimodal
	// labels without PLGM or EMA teachers, and stage 2 uses them as the
	// expert labels (cmc-model.md §4.4; needs CH-SIMS-style labels).
	GroundTruth bool
	// LabelMomentum and TeacherMomentum are the stage-1 schedules by
	// modality; a zero Schedule selects DefaultLabelMomentum or
	// DefaultTeacherMomentum.
	LabelMomentum, TeacherMomentum [model.Experts]Schedule
	// StableSupCon selects the shifted float64 SupCon (EngineOptions).
	StableSupCon bool
}

func (s *Settings) normalize(train *mmsa.Split) error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.MaxEpochs, DefaultMaxEpochs)
	def(&s.Patience, DefaultPatience)
	def(&s.BatchSize, DefaultBatchSize)
	def(&s.Threads, DefaultThreads)
	if s.LR == 0 {
		s.LR = DefaultLR
	}
	for k := range model.Experts {
		if s.LabelMomentum[k] == (Schedule{}) {
			s.LabelMomentum[k] = DefaultLabelMomentum[k]
		}
		if s.TeacherMomentum[k] == (Schedule{}) {
			s.TeacherMomentum[k] = DefaultTeacherMomentum[k]
		}
		for _, sc := range []Schedule{s.LabelMomentum[k], s.TeacherMomentum[k]} {
			if sc.Initial < 0 || sc.Initial > 1 || sc.Gamma < 0 {
				return fmt.Errorf("train: schedule %+v: want initial momentum in [0,1] and gamma ≥ 0", sc)
			}
		}
	}
	if s.MaxEpochs < 1 || s.Patience < 1 || s.BatchSize < 1 || s.Threads < 1 || !(s.LR > 0) {
		return fmt.Errorf("train: settings need positive epochs, patience, batch size, threads and learning rate; got %d, %d, %d, %d, %v",
			s.MaxEpochs, s.Patience, s.BatchSize, s.Threads, s.LR)
	}
	cfg := &s.Model
	for mod, t := range tensors(train) {
		m := model.Modality(mod)
		switch m {
		case model.Text:
			if cfg.Dims.Text == 0 {
				cfg.Dims.Text, cfg.Lengths.Text = t.D, t.L
			}
		case model.Audio:
			if cfg.Dims.Audio == 0 {
				cfg.Dims.Audio, cfg.Lengths.Audio = t.D, t.L
			}
		case model.Vision:
			if cfg.Dims.Vision == 0 {
				cfg.Dims.Vision, cfg.Lengths.Vision = t.D, t.L
			}
		}
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// EpochReport describes one finished epoch.
type EpochReport struct {
	// Stage is 1 (unimodal pretraining) or 2 (multimodal finetuning).
	Stage int
	// Epoch counts from 1 within the stage.
	Epoch int
	// TrainLoss is the mean total training loss over the epoch's batches.
	TrainLoss float64
	// ValidLoss is the stage-2 validation loss L2, or in stage 1 the sum
	// of ValidCE.
	ValidLoss float64
	// ValidCE are the stage-1 validation cross-entropies by modality
	// (teacher logits, or the student's for CMC-GT); zero in stage 2.
	ValidCE [model.Experts]float64
	// Test holds the stage-2 test metrics (logged only, no selection).
	Test eval.Result
	// TestUni holds the stage-1 test metrics by modality against the
	// dataset's unimodal labels.
	TestUni [model.Experts]eval.Result
	// Improved reports a new best validation value (any modality in stage 1).
	Improved bool
	// Patience is the number of non-improving epochs left.
	Patience int
	// Duration is the wall time of the epoch, evaluation included.
	Duration time.Duration
}

// Summary describes a finished run.
type Summary struct {
	// Stage1Epochs and Stage2Epochs are the epochs run per stage.
	Stage1Epochs, Stage2Epochs int
	// Stage1Best are the epochs whose models were kept, by modality.
	Stage1Best [model.Experts]int
	// Stage2Best is the epoch of the returned model.
	Stage2Best int
	// ValidLoss is the returned model's validation loss L2.
	ValidLoss float64
	// Test holds the returned model's test metrics.
	Test eval.Result
}

// runner holds the state shared by the two stages.
type runner struct {
	s                  Settings
	train, valid, test *splitData
	progress           func(EpochReport)
	step               uint64
	in                 model.Input
}

// Run trains CMC on data: stage 1 (PLGM unimodal pretraining with EMA
// teachers, or CMC-GT) and stage 2 (multimodal finetuning from the stage-1
// models), each with model selection and patience on the validation split
// (cmc-model.md §3–§5). progress, when not nil, is called after every
// epoch. It returns the selected stage-2 model. Cancelling ctx stops the
// run between batches with ctx's error.
func Run(ctx context.Context, s Settings, data Data, progress func(EpochReport)) (*model.Model, Summary, error) {
	if data.Train == nil || data.Valid == nil || data.Test == nil {
		return nil, Summary{}, errors.New("train: the train, valid and test splits are all required")
	}
	if err := s.normalize(data.Train); err != nil {
		return nil, Summary{}, err
	}
	r := &runner{s: s, progress: progress}
	var err error
	if r.train, err = prepare("train", data.Train, &r.s.Model, s.GroundTruth); err != nil {
		return nil, Summary{}, err
	}
	if r.valid, err = prepare("valid", data.Valid, &r.s.Model, s.GroundTruth); err != nil {
		return nil, Summary{}, err
	}
	if r.test, err = prepare("test", data.Test, &r.s.Model, s.GroundTruth); err != nil {
		return nil, Summary{}, err
	}
	var sum Summary
	pre, labels, err := r.stage1(ctx, &sum)
	if err != nil {
		return nil, sum, err
	}
	m, err := r.stage2(ctx, pre, labels, &sum)
	return m, sum, err
}
