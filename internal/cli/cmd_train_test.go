package cli

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

// syntheticDataset writes an MMSA-layout pickle in which every modality
// carries a noisy signal of the clip's label: feature 0 of each real frame
// is the label's sign plus Gaussian noise, the rest is noise, and the
// frames after a random length are zero padding.
func syntheticDataset(t *testing.T, sizes map[string]int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 7))
	shape := [3][2]int{{6, 16}, {10, 5}, {8, 7}} // [L, D] of text, audio, vision
	d := &mmsa.Dataset{Splits: map[string]*mmsa.Split{}}
	for name, n := range sizes {
		s := &mmsa.Split{}
		ts := [3]*mmsa.Tensor3{&s.Text, &s.Audio, &s.Vision}
		for k, t := range ts {
			*t = mmsa.Tensor3{N: n, L: shape[k][0], D: shape[k][1], Data: make([]float32, n*shape[k][0]*shape[k][1])}
		}
		for i := range n {
			y := float32([]float32{-1, 1}[rng.IntN(2)])
			if rng.IntN(5) == 0 {
				y = 0
			}
			s.IDs = append(s.IDs, name+"_"+string(rune('a'+i%26))+string(rune('a'+i/26)))
			s.RawText = append(s.RawText, "clip")
			s.Regression = append(s.Regression, y*float32(0.4+rng.Float64()))
			for k, t := range ts {
				real := 2 + rng.IntN(t.L-1)
				for f := range real {
					row := t.Data[(i*t.L+f)*t.D : (i*t.L+f+1)*t.D]
					for j := range row {
						row[j] = float32(rng.NormFloat64())
					}
					row[0] = 1.5*y + float32(rng.NormFloat64()*0.8)
				}
				if k == 1 {
					s.AudioLengths = append(s.AudioLengths, real)
				}
				if k == 2 {
					s.VisionLengths = append(s.VisionLengths, real)
				}
			}
		}
		d.Splits[name] = s
	}
	path := filepath.Join(t.TempDir(), "synthetic.pkl")
	if err := mmsa.Write(path, d); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainAndEval trains through the CLI on a synthetic dataset and checks
// that the bundle it writes scores clearly above chance on the test split
// (chance for Has0_acc_2 under the MOSI rule is at most the majority share,
// about 0.6 here), and that eval's figures are consistent.
func TestTrainAndEval(t *testing.T) {
	data := syntheticDataset(t, map[string]int{"train": 160, "valid": 40, "test": 60})
	out := filepath.Join(t.TempDir(), "bundle")
	code, stdout, stderr := runCLI("train", "--data", data, "--convention", "mosi", "--out", out,
		"--layers", "1", "--heads", "2", "--max-epochs", "8", "--patience", "3", "--batch", "32", "--seed", "3")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI("train", "--data", data, "--convention", "mosi", "--out", out, "--label-momentum", "0.8:0.5,2:1,0.9:1"); code != exitUsage || !strings.Contains(stderr, "label-momentum") {
		t.Errorf("bad schedule: exit %d, %q", code, stderr)
	}
	if !strings.Contains(stdout, "stage 1 epoch   1") || !strings.Contains(stdout, "stage 2 epoch   1") || !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("train output:\n%s", stdout)
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec trainedOn
	if err := json.Unmarshal(m.Config.TrainedOn, &rec); err != nil || rec.Sizes["train"] != 160 || len(rec.SHA256) != 64 ||
		rec.Settings["label_momentum"] != "0.8:0.5,0.99:0.5,0.99:0.5" {
		t.Errorf("trained_on %s (%v)", m.Config.TrainedOn, err)
	}
	if m.Config.Dims != (model.PerModality{Text: 16, Audio: 5, Vision: 7}) || m.Config.Lengths != (model.PerModality{Text: 6, Audio: 10, Vision: 8}) {
		t.Errorf("bundle shapes %+v %+v", m.Config.Dims, m.Config.Lengths)
	}

	ids := filepath.Join(t.TempDir(), "ids.txt")
	os.WriteFile(ids, []byte("test_aa\ntest_ba\ntest_ca\n"), 0o644)
	code, stdout, stderr = runCLI("eval", "--model", out, "--data", data, "--json", "--subset", "few="+ids)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("test split: Has0_acc_2 %.4f, Acc_3 %.4f", res.Has0Acc2, res.Acc3)
	if res.N != 60 || res.Has0Acc2 < 0.8 || res.Acc3 < 0.6 || res.Subsets["few"].N != 3 {
		t.Errorf("eval %s", stdout)
	}
	for _, key := range []string{`"Has0_acc_2"`, `"Non0_acc_2_reference"`, `"F1_score_3"`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("eval JSON lacks %s", key)
		}
	}
	code, stdout, _ = runCLI("eval", "--model", out, "--data", data)
	if code != 0 || !strings.Contains(stdout, "Has0_acc_2") || !strings.Contains(stdout, "test (n=60)") {
		t.Errorf("eval table: %d %s", code, stdout)
	}

	// Determinism: the same data, settings and seed give the same bytes.
	again := filepath.Join(t.TempDir(), "again")
	if code, _, stderr := runCLI("train", "--data", data, "--convention", "mosi", "--out", again,
		"--layers", "1", "--heads", "2", "--max-epochs", "8", "--patience", "3", "--batch", "32", "--seed", "3"); code != 0 {
		t.Fatalf("second train: %s", stderr)
	}
	a, _ := os.ReadFile(filepath.Join(out, model.WeightsFile))
	b, _ := os.ReadFile(filepath.Join(again, model.WeightsFile))
	if string(a) != string(b) {
		t.Error("two runs with the same seed wrote different weights")
	}
}

// TestTrainGTPreset checks that --preset with --gt-labels takes the
// reference's CMC-GT settings (cmc-model.md §5.4: CH-SIMS 1 layer, 2 heads,
// out_dropout 0.1), not CMC's (5, 4, 0.4), and that CMC-GT is refused for
// a MOSI preset, which has no unimodal labels.
func TestTrainGTPreset(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bundle")
	code, _, stderr := runCLI("train", "--data", "../../testdata/mmsa/tiny_sims.pkl", "--preset", "sims", "--gt-labels",
		"--out", out, "--max-epochs", "1", "--patience", "1", "--batch", "8", "--seed", "1")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config; c.Layers != 1 || c.Heads != 2 || c.OutDropout != 0.1 || c.Name != "cmc-sims-gt" {
		t.Errorf("CMC-GT sims bundle: layers %d heads %d out_dropout %g name %q, want 1, 2, 0.1, cmc-sims-gt", c.Layers, c.Heads, c.OutDropout, c.Name)
	}
	code, _, stderr = runCLI("train", "--data", "../../testdata/mmsa/tiny_sims.pkl", "--preset", "mosi", "--gt-labels", "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "CMC-GT exists for the CH-SIMS layouts") {
		t.Errorf("--preset mosi --gt-labels: exit %d, %q", code, stderr)
	}
}
