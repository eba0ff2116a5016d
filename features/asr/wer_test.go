package asr

import (
	"slices"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	got := Words("Don't stop, 'Mr.' Smith — it's 42!")
	want := []string{"don't", "stop", "mr", "smith", "it's", "42"}
	if !slices.Equal(got, want) {
		t.Fatalf("Words = %q, want %q", got, want)
	}
}

// TestEditDistance checks worked examples: each distance is counted by
// hand from the edits named in the case.
func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		ref, hyp string
		want     int
	}{
		{"", "", 0},
		{"a b c", "", 3},          // three deletions
		{"", "a b", 2},            // two insertions
		{"a b c", "a b c", 0},     // identical
		{"a b c", "a x c", 1},     // one substitution
		{"a b c d", "a c d e", 2}, // delete b, insert e
		{"the cat sat", "cat sat on the mat", 4},
		{"kitten sitting", "sitting kitten", 2}, // two substitutions
	} {
		if got := EditDistance(Words(c.ref), Words(c.hyp)); got != c.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.ref, c.hyp, got, c.want)
		}
	}
}

func TestCheckLanguage(t *testing.T) {
	if err := CheckLanguage(""); err != nil {
		t.Fatal(err)
	}
	err := CheckLanguage("zh")
	if err == nil || !slices.Contains(Languages(), "en") || !strings.Contains(err.Error(), "available: en") {
		t.Fatalf("CheckLanguage(zh) = %v, want an error listing en", err)
	}
	if err := CheckEngine("whisper"); err == nil || !strings.Contains(err.Error(), "pocketsphinx") {
		t.Fatalf("CheckEngine(whisper) = %v, want an error listing pocketsphinx", err)
	}
}
