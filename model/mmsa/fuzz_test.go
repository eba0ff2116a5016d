package mmsa

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics, that it reports only typed
// errors, and that whatever it accepts is a valid dataset whose encoding is
// stable: Encode(Decode(Encode(d))) == Encode(d). Seeds: the raw pickles in
// ../testdata/fuzz/dataset (see its README).
func FuzzDecode(f *testing.F) {
	seeds, err := filepath.Glob("../../testdata/fuzz/dataset/*.pkl")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no fuzz seeds: %v", err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(bytes.NewReader(data))
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrPickle) && !errors.Is(err, ErrLayout) && !errors.As(err, &fe) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for name, s := range d.Splits {
			if err := s.check(name); err != nil {
				t.Fatalf("Decode accepted an invalid split: %v", err)
			}
		}
		var first bytes.Buffer
		if err := Encode(&first, d); err != nil {
			if errors.Is(err, ErrType) {
				return // strings ending in NUL cannot be stored in a NumPy unicode array
			}
			t.Fatalf("Encode of a decoded dataset: %v", err)
		}
		again, err := Decode(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("Decode of an encoded dataset: %v", err)
		}
		var second bytes.Buffer
		if err := Encode(&second, again); err != nil {
			t.Fatalf("second Encode: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatal("encoding is not stable under a decode/encode round trip")
		}
	})
}
