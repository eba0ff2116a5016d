//go:build cgo && !noort

package onnx

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

// TestInitOpenShutdown checks the life cycle the command drives: Open
// before Init is refused with ErrNotInitialized, sessions open once Init
// loaded the library (located as the command does), a later Init returns
// the first one's result, and Shutdown refuses sessions again.
func TestInitOpenShutdown(t *testing.T) {
	native := envconfig.Resolve(envconfig.Native{})
	model := filepath.Join(native.AssetsDir, "models", "silero_vad_v5.onnx")
	in, out := []string{"input", "state", "sr"}, []string{"output", "stateN"}
	if _, err := Open(model, nil, in, out, 1); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open before Init: %v, want ErrNotInitialized", err)
	}
	if err := Init(native.ORTLibrary); err != nil {
		t.Fatal(err)
	}
	if err := Init("/nonexistent/libonnxruntime.so"); err != nil {
		t.Errorf("second Init: %v, want the first one's result (nil)", err)
	}
	s, err := Open(model, nil, in, out, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(model, nil, in, out, 1); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Open after Shutdown: %v, want ErrNotInitialized", err)
	}
}
