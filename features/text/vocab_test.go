package text

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLoadVocab(t *testing.T) {
	t.Parallel()
	// Line counts and ids from testdata/bert-tokenizer/README.md and the
	// golden records ([CLS] 101, [SEP] 102 in bert-base-uncased).
	cases := []struct {
		name  string
		lines int
		tok   string
		id    int64
	}{
		{"bert-base-uncased", 30522, TokenCLS, 101},
		{"bert-base-uncased", 30522, TokenSEP, 102},
		{"bert-base-uncased", 30522, "##er", 2121},
		{"bert-base-chinese", 21128, TokenPad, 0},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.tok, func(t *testing.T) {
			v := loadTestVocab(t, c.name)
			if v.Size() != c.lines {
				t.Errorf("size %d, want %d", v.Size(), c.lines)
			}
			id, ok := v.ID(c.tok)
			if !ok || id != c.id {
				t.Errorf("ID(%q) = %d, %v; want %d", c.tok, id, ok, c.id)
			}
			if s, ok := v.Token(c.id); !ok || s != c.tok {
				t.Errorf("Token(%d) = %q, %v; want %q", c.id, s, ok, c.tok)
			}
		})
	}
}

func TestReadVocab(t *testing.T) {
	t.Parallel()
	const specials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n"
	cases := []struct {
		name    string
		in      string
		tok     string
		id      int64
		wantErr string
	}{
		{"crlf and trailing space", "[PAD]\r\n[UNK]  \r\n[CLS]\n[SEP]\nfoo \r\n", "foo", 4, ""},
		{"duplicate keeps the later id", specials + "foo\nfoo\n", "foo", 5, ""},
		{"empty", "", "", 0, "vocabulary is empty"},
		{"missing sep", "[PAD]\n[UNK]\n[CLS]\n", "", 0, "lacks the special token [SEP]"},
		{"line too long", specials + strings.Repeat("x", maxVocabLineBytes+1) + "\n", "", 0, "vocabulary line 5 longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, err := ReadVocab(strings.NewReader(c.in))
			if expectError(t, err, c.wantErr) {
				return
			}
			if id, ok := v.ID(c.tok); !ok || id != c.id {
				t.Errorf("ID(%q) = %d, %v; want %d", c.tok, id, ok, c.id)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadVocab("testdata/no-such-vocab.txt"); err == nil || !strings.Contains(err.Error(), "no-such-vocab.txt") {
			t.Errorf("got %v, want an error naming the file", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		_, err := ReadVocab(iotest.ErrReader(errors.New("disk on fire")))
		expectError(t, err, "read vocabulary: disk on fire")
	})
	t.Run("bad file names the path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vocab.txt")
		if err := os.WriteFile(path, []byte("[PAD]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadVocab(path)
		expectError(t, err, path+": text: vocabulary lacks the special token [UNK]")
	})
	t.Run("token out of range", func(t *testing.T) {
		v := loadTestVocab(t, "bert-base-uncased")
		for _, id := range []int64{-1, 30522} {
			if _, ok := v.Token(id); ok {
				t.Errorf("Token(%d) reported ok", id)
			}
		}
	})
}
