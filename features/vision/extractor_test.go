package vision

import (
	"errors"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

func TestConfigValidate(t *testing.T) {
	const face, expr = "face.onnx", "emotion.onnx"
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{FaceModel: face, ExpressionModel: expr}, true},
		{DefaultConfig("assets"), true},
		{Config{FaceModel: face, ExpressionModel: expr, ScoreThreshold: 1, IoUThreshold: 0.5, Threads: 2}, true},
		{Config{}, false},
		{Config{FaceModel: face}, false},
		{Config{ExpressionModel: expr}, false},
		{Config{FaceModel: face, ExpressionModel: expr, ScoreThreshold: 1.5}, false},
		{Config{FaceModel: face, ExpressionModel: expr, ScoreThreshold: -0.1}, false},
		{Config{FaceModel: face, ExpressionModel: expr, IoUThreshold: 1}, false},
		{Config{FaceModel: face, ExpressionModel: expr, Threads: -1}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", c.cfg, err, c.ok)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	s := Spec{Name: SpecName, Version: SpecVersion, ScoreThreshold: 0.5, IoUThreshold: 0.3, Haar: true, Columns: Columns()}
	if s.Dims() != Dims {
		t.Errorf("Dims() = %d, want %d", s.Dims(), Dims)
	}
	if err := s.Check(s); err != nil {
		t.Error(err)
	}
	for name, o := range map[string]Spec{
		"version": {Name: SpecName, Version: "0", ScoreThreshold: 0.5, IoUThreshold: 0.3, Haar: true, Columns: Columns()},
		"columns": {Name: SpecName, Version: SpecVersion, ScoreThreshold: 0.5, IoUThreshold: 0.3, Haar: true, Columns: Columns()[:3]},
		"haar":    {Name: SpecName, Version: SpecVersion, ScoreThreshold: 0.5, IoUThreshold: 0.3, Columns: Columns()},
	} {
		if err := s.Check(o); err == nil {
			t.Errorf("differing %s accepted", name)
		}
	}
}

// TestNewErrors: a bad config fails before any model loads, and a build
// without OpenCV or ONNX Runtime says so.
func TestNewErrors(t *testing.T) {
	if _, err := New(withTestModels(Config{ScoreThreshold: 2})); err == nil {
		t.Error("bad config accepted")
	}
	e, err := New(withTestModels(Config{}))
	if errors.Is(err, ErrNotBuilt) || errors.Is(err, onnx.ErrNotBuilt) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
}
