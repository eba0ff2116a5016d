package model

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

func TestBundleRoundTrip(t *testing.T) {
	m, in, _ := loadFixture(t)
	m.Config.Name, m.Config.Version = "fixture", "1"
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.SHA256 != m.SHA256 || len(back.SHA256) != 64 {
		t.Errorf("sha256 %q after load, %q after save", back.SHA256, m.SHA256)
	}
	var a, b Output
	if err := NewInferencer(m, Options{}).Forward(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := NewInferencer(back, Options{}).Forward(in, &b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Logits {
		if a.Logits[i] != b.Logits[i] {
			t.Fatalf("logits differ after a round trip: %v vs %v", a.Logits, b.Logits)
		}
	}
	// Saving again gives the same bytes.
	first, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
	dir2 := t.TempDir()
	if err := back.Save(dir2); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir2, WeightsFile))
	if !bytes.Equal(first, second) {
		t.Error("weights bytes differ between two saves")
	}
}

// TestLoadErrors checks that every broken bundle names what is wrong.
func TestLoadErrors(t *testing.T) {
	m, _, _ := loadFixture(t)
	save := func(t *testing.T, edit func(f *safetensors.File), cfg string) string {
		dir := t.TempDir()
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			f, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			edit(f)
			if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), f); err != nil {
				t.Fatal(err)
			}
		}
		if cfg != "" {
			raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			parts := strings.SplitN(cfg, "=>", 2)
			raw = []byte(strings.Replace(string(raw), parts[0], parts[1], 1))
			os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644)
		}
		return dir
	}
	cases := []struct {
		name string
		edit func(f *safetensors.File)
		cfg  string
		want string
	}{
		{"missing tensor", func(f *safetensors.File) { delete(f.Tensors, "router.linear.weight") }, "",
			`tensor "router.linear.weight" is missing (want shape [3 32])`},
		{"wrong shape", func(f *safetensors.File) {
			f.Tensors["proj_a.weight"] = &safetensors.Tensor{Shape: []int{32, 6, 1}, Data: make([]float32, 32*6)}
		}, "", `tensor "proj_a.weight" has shape [32 6 1], want [32 5 1]`},
		{"extra tensor", func(f *safetensors.File) {
			f.Tensors["encoder_a.layers.2.linear1.bias"] = &safetensors.Tensor{Shape: []int{128}, Data: make([]float32, 128)}
		}, "", `unexpected tensor "encoder_a.layers.2.linear1.bias"`},
		{"fewer layers in config", nil, `"transformer_layers": 2=>"transformer_layers": 1`, `unexpected tensor "encoder_a.layers.1.linear1.bias"`},
		{"unknown config field", nil, `"nhead"=>"n_head"`, `unknown field "n_head"`},
		{"bad heads", nil, `"nhead": 4=>"nhead": 5`, `config field "nhead": is 5, want a divisor of embed_dim 32`},
		{"num_batches_tracked accepted", func(f *safetensors.File) {
			f.Tensors["norm_a.num_batches_tracked"] = &safetensors.Tensor{DType: "I64", Shape: []int{}, Raw: make([]byte, 8)}
		}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(save(t, c.edit, c.cfg))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("empty dir: %v", err)
	}
}
