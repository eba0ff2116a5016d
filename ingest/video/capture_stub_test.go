//go:build !cgo || nocv

package video

import (
	"context"
	"errors"
	"testing"
)

func TestStubNotBuilt(t *testing.T) {
	if _, err := Open(Config{Device: "0"}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open() = %v, want ErrNotBuilt", err)
	}
	if _, err := Open(Config{}); err == nil || errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open(invalid) = %v, want the validation error", err)
	}
	if _, err := ReadFile(context.Background(), "x.mp4", Config{}, nil); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("ReadFile() = %v, want ErrNotBuilt", err)
	}
}
