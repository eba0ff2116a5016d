package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// Bundle file names (architecture.md, "Model bundle").
const (
	ConfigFile  = "model.json"
	WeightsFile = "weights.safetensors"
)

// Model is a CMC model: its configuration and weights.
type Model struct {
	Config  Config
	Weights *Weights
	// SHA256 is the hex digest of the weights file the model was loaded
	// from or last saved to; empty for a model built in memory.
	SHA256 string
}

// New returns a model for cfg with constant initial weights (see
// NewWeights). cfg is normalised and validated.
func New(cfg Config) (*Model, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Model{Config: cfg, Weights: NewWeights(&cfg)}, nil
}

// LoadTensors copies the model's tensors from f, each named prefix + its
// state_dict name. Every tensor must be present with the expected shape and
// dtype F32, and f may hold no other tensor under prefix (PyTorch's
// BatchNorm num_batches_tracked counters are accepted and ignored). Values
// must be finite. The error names the tensor.
func (m *Model) LoadTensors(f *safetensors.File, prefix string) error {
	var errs []error
	want := map[string]bool{}
	for _, p := range m.Weights.Params() {
		name := prefix + p.Name
		want[name] = true
		t, ok := f.Tensors[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("model: tensor %q is missing (want shape %v)", name, p.Shape))
		case t.DType != "F32":
			errs = append(errs, fmt.Errorf("model: tensor %q has dtype %s, want F32", name, t.DType))
		case !slices.Equal(t.Shape, p.Shape):
			errs = append(errs, fmt.Errorf("model: tensor %q has shape %v, want %v", name, t.Shape, p.Shape))
		default:
			if i := slices.IndexFunc(t.Data, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }); i >= 0 {
				errs = append(errs, fmt.Errorf("model: tensor %q has a non-finite value at index %d", name, i))
				continue
			}
			copy(p.Data, t.Data)
		}
	}
	for _, name := range f.Names() {
		if strings.HasPrefix(name, prefix) && !want[name] && !strings.HasSuffix(name, ".num_batches_tracked") {
			errs = append(errs, fmt.Errorf("model: unexpected tensor %q (shape %v) for a model with %d layers", name, f.Tensors[name].Shape, m.Config.Layers))
		}
	}
	return errors.Join(errs...)
}

// Load reads the bundle directory dir: model.json and weights.safetensors.
func Load(dir string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("model: bundle %s: %w", dir, err)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("model: bundle %s: %s: %w", dir, ConfigFile, err)
	}
	m, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("model: bundle %s: %s: %w", dir, ConfigFile, err)
	}
	wpath := filepath.Join(dir, WeightsFile)
	wraw, err := os.ReadFile(wpath)
	if err != nil {
		return nil, fmt.Errorf("model: bundle %s: %w", dir, err)
	}
	f, err := safetensors.Decode(wraw)
	if err != nil {
		return nil, fmt.Errorf("model: bundle %s: %s: %w", dir, WeightsFile, err)
	}
	if err := m.LoadTensors(f, ""); err != nil {
		return nil, fmt.Errorf("model: bundle %s: %s: %w", dir, WeightsFile, err)
	}
	sum := sha256.Sum256(wraw)
	m.SHA256 = hex.EncodeToString(sum[:])
	return m, nil
}

// Tensors returns the model's tensors under their state_dict names, ready to
// encode. The data aliases the model.
func (m *Model) Tensors() *safetensors.File {
	f := &safetensors.File{Tensors: map[string]*safetensors.Tensor{}}
	for _, p := range m.Weights.Params() {
		f.Tensors[p.Name] = &safetensors.Tensor{DType: "F32", Shape: p.Shape, Data: p.Data}
	}
	return f
}

// Save writes the bundle to dir (created if needed): model.json (indented)
// and weights.safetensors. The same model always gives the same bytes.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	cfg, err := json.MarshalIndent(&m.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, m.Tensors()); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, WeightsFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	m.SHA256 = hex.EncodeToString(sum[:])
	return nil
}
