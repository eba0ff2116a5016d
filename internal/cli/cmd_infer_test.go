package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

const fixturePath = "../../testdata/cmc-reference/mosi-small.safetensors"

// fixtureBundle writes the reference fixture's model as a bundle and its
// inputs as a features file, and returns their paths and the fixture.
func fixtureBundle(t *testing.T) (dir string, f *safetensors.File) {
	t.Helper()
	f, err := safetensors.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{Name: "fixture", Convention: "mosi", Layers: 2, Heads: 4,
		Dims:    model.PerModality{Text: 768, Audio: 5, Vision: 20},
		Lengths: model.PerModality{Text: 8, Audio: 16, Vision: 12}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadTensors(f, "weight."); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "bundle")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir, f
}

func writeFeatures(t *testing.T, tensors map[string]*safetensors.Tensor) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "features.safetensors")
	if err := safetensors.WriteFile(path, &safetensors.File{Tensors: tensors}); err != nil {
		t.Fatal(err)
	}
	return path
}

func fixtureFeatures(f *safetensors.File) map[string]*safetensors.Tensor {
	return map[string]*safetensors.Tensor{
		"text": f.Tensors["input.text"], "audio": f.Tensors["input.audio"], "vision": f.Tensors["input.vision"],
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5 }

// TestInferMatchesReference runs the CLI on the fixture and compares every
// printed logit and embedding with the reference's eval outputs.
func TestInferMatchesReference(t *testing.T) {
	dir, f := fixtureBundle(t)
	feats := fixtureFeatures(f)
	// Drop audio's trailing all-zero frames: the CLI must pad them back.
	a := feats["audio"]
	short := &safetensors.Tensor{DType: "F32", Shape: []int{4, 14, 5}}
	for b := range 4 {
		short.Data = append(short.Data, a.Data[b*16*5:b*16*5+14*5]...)
	}
	trailingZero := true
	for b := range 4 {
		for _, v := range a.Data[b*16*5+14*5 : (b+1)*16*5] {
			trailingZero = trailingZero && v == 0
		}
	}
	if !trailingZero {
		t.Fatal("fixture audio rows 14..15 are not zero padding")
	}
	for name, tensors := range map[string]map[string]*safetensors.Tensor{
		"full":        feats,
		"short-audio": {"text": feats["text"], "audio": short, "vision": feats["vision"]},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI("infer", "--model", dir, "--input", writeFeatures(t, tensors))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			sc := bufio.NewScanner(strings.NewReader(stdout))
			sc.Buffer(nil, 1<<20)
			n := 0
			for ; sc.Scan(); n++ {
				var r inferRecord
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				if r.Index != n {
					t.Errorf("index %d, want %d", r.Index, n)
				}
				want := f.Tensors["eval.pred"].Data[n*3 : n*3+3]
				for c := range 3 {
					if !near(r.Logits[c], want[c]) {
						t.Errorf("sample %d logits %v, want %v", n, r.Logits, want)
					}
				}
				if best := model.Labels[model.Argmax(want)]; r.Label != best {
					t.Errorf("sample %d label %q, want %q", n, r.Label, best)
				}
				for mod, name := range map[string]string{"text": "eval.pred_t", "audio": "eval.pred_a", "vision": "eval.pred_v"} {
					for c := range 3 {
						if !near(r.ExpertLogits[mod][c], f.Tensors[name].Data[n*3+c]) {
							t.Errorf("sample %d %s expert logits %v", n, mod, r.ExpertLogits[mod])
						}
					}
				}
				for mod, name := range map[string]string{"text": "eval.h_l", "audio": "eval.h_a", "vision": "eval.h_v"} {
					for c := range 32 {
						if !near(r.Embeddings[mod][c], f.Tensors[name].Data[n*32+c]) {
							t.Fatalf("sample %d %s embedding differs at %d", n, mod, c)
						}
					}
				}
				var psum, gsum float32
				for _, p := range r.Probs {
					psum += p
				}
				for _, g := range r.Router {
					gsum += g
				}
				if !near(psum, 1) || !near(gsum, 1) || !near(r.Similarity[1][1], 1) {
					t.Errorf("sample %d: probs sum %v, router sum %v, S_aa %v", n, psum, gsum, r.Similarity[1][1])
				}
			}
			if n != 4 {
				t.Errorf("%d records, want 4", n)
			}
		})
	}
}

// TestInferRejectsBadInput checks that each bad features file fails with a
// message naming the tensor and prints nothing on stdout.
func TestInferRejectsBadInput(t *testing.T) {
	dir, f := fixtureBundle(t)
	feats := fixtureFeatures(f)
	with := func(name string, tensor *safetensors.Tensor) map[string]*safetensors.Tensor {
		m := map[string]*safetensors.Tensor{}
		for k, v := range feats {
			m[k] = v
		}
		if tensor == nil {
			delete(m, name)
		} else {
			m[name] = tensor
		}
		return m
	}
	nan := append([]float32{}, feats["vision"].Data...)
	nan[17] = float32(math.NaN())
	cases := []struct {
		name, want string
		tensors    map[string]*safetensors.Tensor
	}{
		{"missing vision", `"vision" is missing (want float32 [B,<=12,20] with at least one step)`, with("vision", nil)},
		{"audio too long", `"audio": shape [4,17,5], want [B,<=16,5]`, with("audio", &safetensors.Tensor{DType: "F32", Shape: []int{4, 17, 5}, Data: make([]float32, 4*17*5)})},
		{"text wrong dim", `"text": shape [4,8,767]`, with("text", &safetensors.Tensor{DType: "F32", Shape: []int{4, 8, 767}, Data: make([]float32, 4*8*767)})},
		{"vision NaN", `"vision": non-finite value NaN at sample 0, step 0, feature 17`, with("vision", &safetensors.Tensor{DType: "F32", Shape: []int{4, 12, 20}, Data: nan})},
		{"batch mismatch", `"audio": batch 3`, with("audio", &safetensors.Tensor{DType: "F32", Shape: []int{3, 16, 5}, Data: make([]float32, 3*16*5)})},
		{"rank 2", `"text" has shape [4 768]`, with("text", &safetensors.Tensor{DType: "F32", Shape: []int{4, 768}, Data: make([]float32, 4*768)})},
		{"batch 2^31-1 of empty sequences", `"text" has shape [2147483647 0 768]`, with("text", &safetensors.Tensor{DType: "F32", Shape: []int{math.MaxInt32, 0, 768}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI("infer", "--model", dir, "--input", writeFeatures(t, c.tensors))
			if code == 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q", code, stdout)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not contain %q", stderr, c.want)
			}
		})
	}
	if code, _, stderr := runCLI("infer", "--model", dir); code != exitUsage || !strings.Contains(stderr, "--input") {
		t.Errorf("no --input: exit %d, %q", code, stderr)
	}
}
