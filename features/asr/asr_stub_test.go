//go:build !cgo || nopocketsphinx

package asr

import (
	"errors"
	"testing"
)

func TestStubNotBuilt(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("New() = %v, want ErrNotBuilt", err)
	}
	if _, err := New(Config{Lang: "xx"}); !errors.Is(err, ErrLanguage) {
		t.Fatalf("New(xx) = %v, want ErrLanguage", err)
	}
}
