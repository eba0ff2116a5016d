//go:build !cgo || noportaudio

package audio

import (
	"errors"
	"testing"
)

func TestStubNotBuilt(t *testing.T) {
	if err := Init(); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Init() = %v, want ErrNotBuilt", err)
	}
	if _, err := ListDevices(); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("ListDevices() = %v, want ErrNotBuilt", err)
	}
	if _, err := Open(Config{}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open() = %v, want ErrNotBuilt", err)
	}
	if _, err := Open(Config{Channels: -1}); err == nil || errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open(invalid) = %v, want the validation error", err)
	}
	if err := Terminate(); err != nil {
		t.Fatal(err)
	}
}
