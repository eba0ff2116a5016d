package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

const fixturePath = "../../testdata/cmc-reference/mosi-small.safetensors"

// fixture is the reference batch of testdata/cmc-reference (torch 1.13
// outputs of the reference CMC modules, dropout 0, SupCon rule "mosi").
type fixture struct {
	model  *model.Model
	input  *model.Input
	labels *Labels
	file   *safetensors.File
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := safetensors.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's config metadata uses the model.json field names.
	var cfg model.Config
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Convention = "mosi"
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadTensors(f, "weight."); err != nil {
		t.Fatal(err)
	}
	var in model.Input
	for mod, name := range [model.Experts]string{"input.text", "input.audio", "input.vision"} {
		x := f.Tensors[name]
		in[mod] = model.Sequence{Batch: x.Shape[0], Len: x.Shape[1], Dim: x.Shape[2], Data: x.Data}
	}
	ints := func(name string) []int {
		var y []int
		for _, v := range f.Tensors[name].Data {
			y = append(y, int(v))
		}
		return y
	}
	lab := &Labels{M: ints("label.M"), Uni: [model.Experts][]int{ints("label.T"), ints("label.A"), ints("label.V")}}
	return &fixture{model: m, input: &in, labels: lab, file: f}
}

func assertClose(t *testing.T, name string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > atol+rtol*scale || math.IsNaN(d) {
			t.Errorf("%s[%d] = %.7g, want %.7g (|diff| %.2g, max |want| %.3g)", name, i, got[i], want[i], d, scale)
			return
		}
	}
}

// TestStage2Fixture checks the train-mode forward pass, the stage-2 loss
// terms, every parameter gradient and the BatchNorm running statistics
// against the reference fixture, with one and two threads, with the
// attention probabilities kept or recomputed.
func TestStage2Fixture(t *testing.T) {
	for _, tc := range []struct {
		name    string
		threads int
		cache   int64
	}{{"1-thread", 1, 0}, {"2-threads", 2, 0}, {"2-threads-recompute", 2, -1}} {
		t.Run(tc.name, func(t *testing.T) {
			fx := loadFixture(t)
			f := fx.file
			eng, err := NewEngine(fx.model, EngineOptions{Threads: tc.threads, EncoderDropout: -1, AttentionCache: tc.cache})
			if err != nil {
				t.Fatal(err)
			}
			loss, err := eng.Stage2(fx.input, fx.labels, 0)
			if err != nil {
				t.Fatal(err)
			}
			out := eng.Output()
			// Logits: 1e-5 absolute (fixture README).
			assertClose(t, "train.pred", out.Logits, f.Tensors["train.pred"].Data, 1e-5, 0)
			assertClose(t, "train.pred_t", out.ExpertLogits[model.Text], f.Tensors["train.pred_t"].Data, 1e-5, 0)
			assertClose(t, "train.pred_a", out.ExpertLogits[model.Audio], f.Tensors["train.pred_a"].Data, 1e-5, 0)
			assertClose(t, "train.pred_v", out.ExpertLogits[model.Vision], f.Tensors["train.pred_v"].Data, 1e-5, 0)
			// Losses: 1e-4 relative (fixture README).
			for _, c := range []struct {
				name string
				got  float64
			}{
				{"train.loss_m", loss.M}, {"train.loss_t", loss.Uni[model.Text]}, {"train.loss_a", loss.Uni[model.Audio]},
				{"train.loss_v", loss.Uni[model.Vision]}, {"train.loss_c", loss.SupCon}, {"train.loss", loss.Total},
			} {
				want := float64(f.Tensors[c.name].Data[0])
				if math.Abs(c.got-want) > 1e-4*math.Abs(want) {
					t.Errorf("%s = %.7g, want %.7g", c.name, c.got, want)
				}
			}
			gp := eng.Grads().Params()
			n := 0
			for _, p := range gp {
				if p.Buffer {
					continue
				}
				want, ok := f.Tensors["grad."+p.Name]
				if !ok {
					t.Errorf("fixture has no grad.%s", p.Name)
					continue
				}
				n++
				assertClose(t, "grad."+p.Name, p.Data, want.Data, 1e-7, 1e-4)
			}
			if n != countPrefix(f, "grad.") {
				t.Errorf("checked %d gradients, fixture has %d", n, countPrefix(f, "grad."))
			}
			for _, p := range fx.model.Weights.Params() {
				if p.Buffer {
					assertClose(t, "bn_after_train."+p.Name, p.Data, f.Tensors["bn_after_train."+p.Name].Data, 1e-6, 1e-5)
				}
			}
		})
	}
}

func countPrefix(f *safetensors.File, prefix string) int {
	n := 0
	for _, name := range f.Names() {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

// TestAdamFixture applies one Adam step (lr 1e-3, no weight decay) with the
// fixture's gradients and checks every parameter against adam_step1.*.
func TestAdamFixture(t *testing.T) {
	fx := loadFixture(t)
	f := fx.file
	grads := model.NewWeights(&fx.model.Config)
	for _, p := range grads.Params() {
		if !p.Buffer {
			copy(p.Data, f.Tensors["grad."+p.Name].Data)
		}
	}
	opt, err := NewAdam(fx.model.Weights, AdamConfig{LR: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(grads); err != nil {
		t.Fatal(err)
	}
	for _, p := range fx.model.Weights.Params() {
		if p.Buffer {
			continue
		}
		// The step is ±lr·m̂/(√v̂+ε); 1e-6 absolute is 0.1 % of it.
		assertClose(t, "adam_step1."+p.Name, p.Data, f.Tensors["adam_step1."+p.Name].Data, 1e-6, 0)
	}
}
