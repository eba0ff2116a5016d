package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
	"github.com/cmc-stream/cmc-stream/model/train"
)

func init() {
	commands["train"] = command{
		summary: "train a model bundle on an MMSA pickle (PLGM pretraining, then multimodal finetuning)",
		run:     runTrain,
	}
}

// trainedOn is the bundle's record of its training run.
type trainedOn struct {
	Data     string         `json:"data"`
	SHA256   string         `json:"sha256"`
	Sizes    map[string]int `json:"sizes"`
	Settings map[string]any `json:"settings"`
	Epochs   map[string]any `json:"epochs"`
	Test     any            `json:"test_metrics"`
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	data := fs.String("data", "", "MMSA pickle `file` (train, valid and test splits)")
	convention := fs.String("convention", "", "label convention: sims or mosi (default: the preset's)")
	out := fs.String("out", "", "bundle `directory` to write")
	preset := fs.String("preset", "", "reference hyper-parameters: mosi, mosei, sims or sims2")
	layers := fs.Int("layers", 0, "Transformer layers per branch (default: the preset's, else 2)")
	heads := fs.Int("heads", 0, "attention heads (default: the preset's, else 4)")
	outDropout := fs.Float64("out-dropout", -1, "dropout of the expert heads (default: the preset's, else 0.4)")
	maxEpochs := fs.Int("max-epochs", train.DefaultMaxEpochs, "epochs per stage at most")
	patience := fs.Int("patience", train.DefaultPatience, "epochs without validation improvement before a stage stops")
	batch := fs.Int("batch", train.DefaultBatchSize, "clips per batch")
	seed := fs.Uint64("seed", 1111, "random seed (the reference uses 1111)")
	gt := fs.Bool("gt-labels", false, "CMC-GT: train on the dataset's unimodal labels (CH-SIMS layouts) instead of PLGM pseudo labels")
	name := fs.String("name", "", "model name recorded in the bundle (default: cmc-<preset or convention>)")
	labelMom := scheduleFlag{train.DefaultLabelMomentum}
	teacherMom := scheduleFlag{train.DefaultTeacherMomentum}
	fs.Var(&labelMom, "label-momentum", "PLGM pseudo-label momentum `m0:gamma,m0:gamma,m0:gamma` for text, audio, vision (momentum of epoch e = 1-(1-m0)/e^gamma)")
	fs.Var(&teacherMom, "teacher-momentum", "EMA-teacher momentum `m0:gamma,m0:gamma,m0:gamma` for text, audio, vision")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return fmt.Errorf("%w: --data and --out are required", errUsage)
	}
	// Reference defaults without a preset: main.py's 2 layers, 4 heads,
	// out_dropout 0.4 (cmc-model.md §5.4).
	cfg := model.Config{Layers: 2, Heads: 4, OutDropout: 0.4}
	presetName := ""
	if *preset != "" {
		presets, known := model.Presets, "mosi, mosei, sims, sims2"
		if *gt {
			presets, known = model.GTPresets, "sims, sims2: CMC-GT exists for the CH-SIMS layouts"
		}
		p, ok := presets[*preset]
		if !ok {
			return fmt.Errorf("%w: --preset: no preset %q with --gt-labels=%t (%s)", errUsage, *preset, *gt, known)
		}
		cfg = model.Config{Convention: p.Convention, Layers: p.Layers, Heads: p.Heads, OutDropout: p.OutDropout}
		presetName = p.Name
	}
	if *convention != "" {
		cfg.Convention = *convention
	}
	if cfg.Convention != "sims" && cfg.Convention != "mosi" {
		return fmt.Errorf("%w: --convention must be sims or mosi", errUsage)
	}
	if *layers > 0 {
		cfg.Layers = *layers
	}
	if *heads > 0 {
		cfg.Heads = *heads
	}
	if *outDropout >= 0 {
		cfg.OutDropout = *outDropout
	}
	cfg.Name = *name
	if cfg.Name == "" {
		cfg.Name = "cmc-" + presetName
		if presetName == "" {
			cfg.Name = "cmc-" + cfg.Convention
		}
	}
	raw, err := os.ReadFile(*data)
	if err != nil {
		return err
	}
	ds, err := mmsa.Decode(strings.NewReader(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: %w", *data, err)
	}
	split := func(n string) *mmsa.Split { return ds.Splits[n] }
	settings := train.Settings{Model: cfg, MaxEpochs: *maxEpochs, Patience: *patience, BatchSize: *batch, Seed: *seed, GroundTruth: *gt,
		LabelMomentum: labelMom.s, TeacherMomentum: teacherMom.s}
	bar := newProgress(stderr)
	m, sum, err := train.Run(ctx, settings, train.Data{Train: split("train"), Valid: split("valid"), Test: split("test")}, func(r train.EpochReport) {
		bar.clear()
		fmt.Fprintf(stdout, "stage %d epoch %3d  train loss %.4f  valid loss %.4f  test Has0_acc_2 %.4f  patience %2d  %s%s\n",
			r.Stage, r.Epoch, r.TrainLoss, r.ValidLoss, testAcc(r), r.Patience, r.Duration.Round(1e6), map[bool]string{true: "  *", false: ""}[r.Improved])
		bar.show(fmt.Sprintf("stage %d", r.Stage), r.Epoch, *maxEpochs)
	})
	bar.clear()
	if err != nil {
		return err
	}
	sha := sha256.Sum256(raw)
	rec := trainedOn{
		Data: filepath.Base(*data), SHA256: hex.EncodeToString(sha[:]),
		Sizes: map[string]int{"train": split("train").Len(), "valid": split("valid").Len(), "test": split("test").Len()},
		Settings: map[string]any{"preset": *preset, "max_epochs": *maxEpochs, "patience": *patience, "batch": *batch,
			"seed": *seed, "gt_labels": *gt, "layers": m.Config.Layers, "heads": m.Config.Heads, "out_dropout": m.Config.OutDropout,
			"label_momentum": labelMom.String(), "teacher_momentum": teacherMom.String()},
		Epochs: map[string]any{"stage1": sum.Stage1Epochs, "stage2": sum.Stage2Epochs,
			"stage1_best": sum.Stage1Best, "stage2_best": sum.Stage2Best},
		Test: sum.Test,
	}
	if m.Config.TrainedOn, err = json.Marshal(rec); err != nil {
		return err
	}
	if len(ds.FeatureSpec) > 0 {
		m.Config.Features = ds.FeatureSpec
	}
	if m.Config.Version == "" {
		m.Config.Version = rec.SHA256[:12]
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (stage 1: %d epochs, stage 2: best epoch %d of %d; test Has0_acc_2 %.4f, Acc_3 %.4f)\n",
		*out, sum.Stage1Epochs, sum.Stage2Best, sum.Stage2Epochs, sum.Test.Has0Acc2, sum.Test.Acc3)
	return nil
}

func testAcc(r train.EpochReport) float64 {
	if r.Stage == 2 {
		return r.Test.Has0Acc2
	}
	return r.TestUni[model.Text].Has0Acc2
}

// scheduleFlag parses three stage-1 momentum schedules (text, audio,
// vision) as m0:gamma,m0:gamma,m0:gamma.
type scheduleFlag struct{ s [model.Experts]train.Schedule }

// String formats the schedules as the flag takes them.
func (f *scheduleFlag) String() string {
	parts := make([]string, len(f.s))
	for i, sc := range f.s {
		parts[i] = fmt.Sprintf("%g:%g", sc.Initial, sc.Gamma)
	}
	return strings.Join(parts, ",")
}

// Set parses m0:gamma,m0:gamma,m0:gamma.
func (f *scheduleFlag) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) != model.Experts {
		return fmt.Errorf("want three schedules (text, audio, vision), got %q", v)
	}
	for i, p := range parts {
		m0, g, ok := strings.Cut(strings.TrimSpace(p), ":")
		a, err1 := strconv.ParseFloat(m0, 64)
		b, err2 := strconv.ParseFloat(g, 64)
		if !ok || err1 != nil || err2 != nil || a < 0 || a > 1 || b < 0 {
			return fmt.Errorf("schedule %q: want m0:gamma with m0 in [0,1] and gamma >= 0", p)
		}
		f.s[i] = train.Schedule{Initial: a, Gamma: b}
	}
	return nil
}
