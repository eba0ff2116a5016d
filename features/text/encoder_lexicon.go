package text

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Columns of the LexiconEncoder features. Word-level columns (ColVADER to
// ColBooster) hold the same value on every word piece of a word; all
// columns of a padding row are zero.
const (
	// ColVADER is the word's VADER valence divided by 4 (VADER ratings lie
	// in [-4, 4]) after VADER's booster and negation rules; 0 when the word
	// is not in the lexicon. Boosters can push it slightly past ±1.
	ColVADER = iota
	// ColAFINN is the word's AFINN-165 score divided by 5 (AFINN scores lie
	// in [-5, 5]) after the same rules, applied on the AFINN scale.
	ColAFINN
	// ColNegation is 1 on the tokens of a VADER negation word ("not",
	// "never", "without", any "...n't" contraction), else 0.
	ColNegation
	// ColNegated is 1 on the tokens of a word that has a negation among the
	// three preceding words (VADER's window), else 0.
	ColNegated
	// ColBooster is VADER's scalar on the tokens of a booster (+0.293,
	// "very") or dampener (-0.293, "slightly") word or phrase, else 0.
	ColBooster
	// ColSpecial is 1 on [CLS], [SEP] and literal special tokens, else 0.
	ColSpecial
	// ColContinuation is 1 on a "##" continuation word piece, else 0.
	ColContinuation
	// ColMask is 1 on every non-padding token (the attention mask).
	ColMask
	// ColHash is the first of the HashDim hashed word-piece columns: a fixed
	// random ±1/sqrt(HashDim) vector per word piece string, so each row's
	// hashed part has unit length.
	ColHash
)

// DefaultHashDim is the number of hashed embedding columns when
// LexiconConfig.HashDim is zero. With the ColHash fixed columns it makes
// rows of 64 float32 values; this is a design choice of this package.
const DefaultHashDim = 64 - ColHash

// maxHashDim bounds LexiconConfig.HashDim to keep rows a sane size.
const maxHashDim = 4096

// LexiconConfig configures a LexiconEncoder.
type LexiconConfig struct {
	// VADER is the VADER lexicon (LoadVADERLexicon); nil leaves ColVADER 0.
	VADER Lexicon
	// AFINN is the AFINN-165 lexicon (LoadAFINNLexicon); nil leaves
	// ColAFINN 0.
	AFINN Lexicon
	// Negations are negation words or phrases added to VADER's list, for
	// example Chinese ones ("不", "没有") alongside a Chinese lexicon given
	// as AFINN. Default none.
	Negations []string
	// HashDim is the number of hashed word-piece columns. Zero means
	// DefaultHashDim; at most 4096.
	HashDim int
	// Seed selects the hashed projection; encoders with the same Seed,
	// HashDim and word pieces give the same vectors on every platform.
	// Default 0.
	Seed uint64
}

// Validate reports whether the configuration is usable.
func (c LexiconConfig) Validate() error {
	if c.HashDim < 0 || c.HashDim > maxHashDim {
		return fmt.Errorf("text: LexiconConfig.HashDim %d is outside [0, %d]", c.HashDim, maxHashDim)
	}
	return nil
}

// LexiconEncoder is the default text Encoder: it needs no model weights and
// works for any BERT vocabulary, English or Chinese. Each token row holds
// lexicon valences, VADER's negation and intensity cues, and a hashed
// word-piece embedding; see the Col constants for the layout.
//
// Words are the tokenizer's pre-tokenized words, lower-cased for lexicon
// look-ups. Lexicon phrases and emoticons are split the same way (so
// "can't stand" and ":)" match across the punctuation split) and matched
// longest first; when two entries normalize alike the first in the file
// wins. VADER's rules (Hutto & Gilbert 2014) are applied to each matched
// lexicon entry over the three preceding words that are not punctuation,
// nearest first: a booster or dampener that is not itself a VADER entry adds
// its scalar (sign-matched to the valence, times 1, 0.95 and 0.9 by
// distance), and a negation multiplies the valence by -0.74. A "...n't"
// contraction counts as one negation word. VADER's all-caps emphasis,
// "but" and "never so" idioms are not applied. VADER and AFINN are English
// lexicons, so Chinese text gets its signal from the hashed embeddings
// unless a Chinese lexicon is supplied as AFINN (for example the Chinese
// AFINN translation, ReadAFINNJSONLexicon; its words match as runs of the
// single characters the tokenizer splits them into, longest first, so
// Chinese needs no spaces) together with Chinese LexiconConfig.Negations.
//
// A LexiconEncoder is immutable and safe for concurrent use.
type LexiconEncoder struct {
	tok       *Tokenizer
	vader     *phraseTable
	afinn     *phraseTable
	negations *phraseTable
	boosters  *phraseTable
	hashDim   int
	hashScale float32
	seed      uint64
}

var _ Encoder = (*LexiconEncoder)(nil)

// NewLexiconEncoder returns an encoder whose rows follow tok's encodings.
func NewLexiconEncoder(tok *Tokenizer, cfg LexiconConfig) (*LexiconEncoder, error) {
	if tok == nil {
		return nil, errors.New("text: nil tokenizer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &LexiconEncoder{tok: tok, hashDim: cfg.HashDim, seed: cfg.Seed}
	if e.hashDim == 0 {
		e.hashDim = DefaultHashDim
	}
	e.hashScale = float32(1 / math.Sqrt(float64(e.hashDim)))
	var err error
	if e.vader, err = newPhraseTable(tok, "VADER", cfg.VADER); err != nil {
		return nil, err
	}
	if e.afinn, err = newPhraseTable(tok, "AFINN", cfg.AFINN); err != nil {
		return nil, err
	}
	negs := make(Lexicon, 0, len(vaderNegations)+len(cfg.Negations))
	for _, w := range slices.Concat(vaderNegations, cfg.Negations) {
		negs = append(negs, LexiconEntry{Phrase: w, Valence: 1})
	}
	if e.negations, err = newPhraseTable(tok, "negation", negs); err != nil {
		return nil, err
	}
	if e.boosters, err = newPhraseTable(tok, "booster", vaderBoosters); err != nil {
		return nil, err
	}
	return e, nil
}

// Dim returns the number of columns per token: ColHash plus HashDim.
func (e *LexiconEncoder) Dim() int { return ColHash + e.hashDim }

// MaxLen returns the number of token rows per text, the tokenizer's MaxLen.
func (e *LexiconEncoder) MaxLen() int { return e.tok.MaxLen() }

// ErrInvalidUTF8 is returned, possibly wrapped with the index of the text in
// its batch, for a text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("text: text is not valid UTF-8")

// Encode implements Encoder. A text that is not valid UTF-8 gives an error
// that wraps ErrInvalidUTF8.
func (e *LexiconEncoder) Encode(texts []string) ([]float32, [3]int, error) {
	rows, dim := e.tok.MaxLen(), e.Dim()
	shape := [3]int{len(texts), rows, dim}
	if len(texts) == 0 {
		return nil, shape, nil
	}
	out := make([]float32, len(texts)*rows*dim)
	for b, s := range texts {
		if err := e.EncodeTo(out[b*rows*dim:(b+1)*rows*dim], s); err != nil {
			return nil, [3]int{}, fmt.Errorf("%w (texts[%d])", err, b)
		}
	}
	return out, shape, nil
}

// EncodeTo writes the [MaxLen, Dim] features of one text into dst, which
// must have exactly MaxLen*Dim elements; every element is overwritten. A
// text that is not valid UTF-8 gives ErrInvalidUTF8.
func (e *LexiconEncoder) EncodeTo(dst []float32, text string) error {
	rows, dim := e.tok.MaxLen(), e.Dim()
	if len(dst) != rows*dim {
		return fmt.Errorf("text: destination has %d elements, want MaxLen*Dim = %d*%d", len(dst), rows, dim)
	}
	if !utf8.ValidString(text) {
		return ErrInvalidUTF8
	}
	var (
		raw []string
		enc Encoding
	)
	e.tok.encodeTo(&enc, text, &raw)
	words := make([]string, len(raw))
	for i, w := range raw {
		words[i] = strings.ToLower(w)
	}
	wf := e.wordFeatures(words)
	clear(dst)
	for p := range rows {
		if enc.AttentionMask[p] == 0 {
			continue
		}
		row := dst[p*dim : (p+1)*dim]
		row[ColMask] = 1
		if w := enc.WordIDs[p]; w < 0 {
			row[ColSpecial] = 1
		} else if e.tok.isSpecial(raw[w]) {
			row[ColSpecial] = 1
		} else {
			copy(row[:ColSpecial], wf[w][:])
			if strings.HasPrefix(enc.Tokens[p], "##") {
				row[ColContinuation] = 1
			}
		}
		e.hashInto(row[ColHash:], enc.Tokens[p])
	}
	return nil
}

// unit is a run of words that VADER's window counts as one word: a negation
// or booster phrase, a "...n't" contraction, or a single word.
type unit struct {
	neg     bool    // a negation word
	boost   float64 // booster scalar, 0 if none
	punct   bool    // a punctuation word, skipped by the window
	inVADER bool    // the unit is itself a VADER entry (then not a booster)
}

// wordFeatures computes the word-level columns ColVADER..ColBooster for
// each word.
func (e *LexiconEncoder) wordFeatures(words []string) [][ColSpecial]float32 {
	wf := make([][ColSpecial]float32, len(words))
	units := make([]unit, 0, len(words))
	unitOf := make([]int, len(words))
	var key []byte
	for i := 0; i < len(words); {
		n, neg := e.negations.match(words, i, &key)
		if c := contractionLen(words, i); c > n {
			n, neg = c, 1
		}
		nb, boost := e.boosters.match(words, i, &key)
		if nb > n {
			n, neg = nb, 0
		} else {
			boost = 0
		}
		if n == 0 {
			n = 1
		}
		u := unit{neg: neg != 0, boost: boost}
		u.punct = n == 1 && utf8.RuneCountInString(words[i]) == 1 && isPunct(firstRune(words[i]))
		u.inVADER = e.vader.exact(words[i:i+n], &key)
		for j := i; j < i+n; j++ {
			unitOf[j] = len(units)
			if u.neg {
				wf[j][ColNegation] = 1
			}
			wf[j][ColBooster] = float32(u.boost)
		}
		units = append(units, u)
		i += n
	}
	for j := range words {
		if negatedScope(units, unitOf[j]) {
			wf[j][ColNegated] = 1
		}
	}
	for _, lx := range []struct {
		tab   *phraseTable
		col   int
		scale float64
	}{{e.vader, ColVADER, 4}, {e.afinn, ColAFINN, 5}} {
		for i := 0; i < len(words); {
			n, v := lx.tab.match(words, i, &key)
			if n == 0 {
				i++
				continue
			}
			v = applyVADERRules(v, units, unitOf[i])
			for j := i; j < i+n; j++ {
				wf[j][lx.col] = float32(v / lx.scale)
			}
			i += n
		}
	}
	return wf
}

// applyVADERRules applies the boosters and negations of the three
// non-punctuation units before unit u to valence v, nearest first, as
// sentiment_valence in vader-sentiment 1.1.3 does.
func applyVADERRules(v float64, units []unit, u int) float64 {
	d := 0
	for j := u - 1; j >= 0 && d < vaderWindow; j-- {
		if units[j].punct {
			continue
		}
		if !units[j].inVADER {
			s := units[j].boost
			if v < 0 {
				s = -s
			}
			v += s * vaderDecay[d]
			if units[j].neg {
				v *= VADERNegationScalar
			}
		}
		d++
	}
	return v
}

// negatedScope reports whether a negation unit is among the three
// non-punctuation units before unit u.
func negatedScope(units []unit, u int) bool {
	d := 0
	for j := u - 1; j >= 0 && d < vaderWindow; j-- {
		if units[j].punct {
			continue
		}
		if units[j].neg {
			return true
		}
		d++
	}
	return false
}

// contractionLen returns 3 when words[i:] starts with a "...n't"
// contraction as the BERT pre-tokenizer splits it ("don", "'", "t"), which
// VADER's negated() counts as a negation; the apostrophe may be ' or the
// typographic U+2019. It returns 0 otherwise.
func contractionLen(words []string, i int) int {
	if i+2 < len(words) && strings.HasSuffix(words[i], "n") &&
		(words[i+1] == "'" || words[i+1] == "\u2019") && words[i+2] == "t" {
		return 3
	}
	return 0
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// hashInto writes the hashed embedding of a word piece: FNV-1a (64-bit) of
// the piece, mixed with the seed by SplitMix64 (Steele, Lea & Flood 2014),
// whose output stream gives one sign bit per column.
func (e *LexiconEncoder) hashInto(dst []float32, piece string) {
	// FNV-1a 64-bit offset basis and prime (Fowler, Noll & Vo).
	h := uint64(14695981039346656037)
	for i := 0; i < len(piece); i++ {
		h ^= uint64(piece[i])
		h *= 1099511628211
	}
	state := h ^ e.seed
	var bits uint64
	for j := range dst {
		if j%64 == 0 {
			state, bits = splitMix64(state)
		}
		if bits&1 == 1 {
			dst[j] = e.hashScale
		} else {
			dst[j] = -e.hashScale
		}
		bits >>= 1
	}
}

// splitMix64 advances a SplitMix64 state and returns the new state and its
// output. Constants from Steele, Lea & Flood 2014 ("Fast splittable
// pseudorandom number generators", OOPSLA) as in Vigna's splitmix64.c.
func splitMix64(state uint64) (uint64, uint64) {
	state += 0x9E3779B97F4A7C15
	z := state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return state, z ^ (z >> 31)
}

// Tokenizer returns the tokenizer whose encodings the rows follow.
func (e *LexiconEncoder) Tokenizer() *Tokenizer { return e.tok }
