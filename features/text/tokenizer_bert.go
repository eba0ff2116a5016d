package text

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultMaxLen is the sequence length used when Options.MaxLen is zero: the
// text length L_t of the MOSI, MOSEI and CH-SIMS v2 set-ups (cmc-model.md
// §6.4; CH-SIMS uses 39).
const DefaultMaxLen = 50

// maxWordChars is the longest word, in characters, that WordPiece splits;
// longer words become [UNK]. Source: max_input_chars_per_word = 100 in
// HuggingFace transformers BertTokenizer and tokenizers WordPiece.
const maxWordChars = 100

// Options configures a Tokenizer. The zero value is usable: a cased
// tokenizer with MaxLen DefaultMaxLen.
type Options struct {
	// LowerCase lower-cases the text and strips accents (NFD, then removal
	// of non-spacing marks), as BERT uncased models and HuggingFace's
	// do_lower_case=True do. Default false.
	LowerCase bool
	// MaxLen is the length of every Encoding in tokens, [CLS] and [SEP]
	// included; longer texts are truncated on the right, shorter ones are
	// padded with [PAD]. Zero means DefaultMaxLen; otherwise at least 2.
	MaxLen int
}

// Validate reports whether the options are usable.
func (o Options) Validate() error {
	if o.MaxLen != 0 && o.MaxLen < 2 {
		return fmt.Errorf("text: Options.MaxLen %d is below 2 (room for [CLS] and [SEP])", o.MaxLen)
	}
	return nil
}

// Encoding is one tokenized text. Every slice has the tokenizer's MaxLen
// entries.
type Encoding struct {
	// InputIDs are the vocabulary ids: [CLS], the word pieces, [SEP], then
	// [PAD] up to MaxLen.
	InputIDs []int64
	// AttentionMask is 1 for [CLS], the word pieces and [SEP], 0 for padding.
	AttentionMask []int64
	// TokenTypeIDs are all 0 (a single segment).
	TokenTypeIDs []int64
	// Tokens are the vocabulary strings of InputIDs.
	Tokens []string
	// WordIDs gives, for each position, the index of the pre-tokenized word
	// the piece came from, counted from 0 over the whole text, or -1 for
	// the added [CLS] and [SEP] and for padding (HuggingFace's word_ids()).
	// A literal special token in the text counts as a word.
	WordIDs []int
	// NumWordPieces is the number of word pieces before truncation.
	NumWordPieces int
}

// Tokenizer is a BERT WordPiece tokenizer that gives the same ids as the
// HuggingFace BERT tokenizers (BertTokenizerFast and the Python
// BertTokenizer) for a given vocab.txt and casing. A Tokenizer is immutable
// and safe for concurrent use.
type Tokenizer struct {
	vocab    *Vocab
	lower    bool
	maxLen   int
	specials []string // never-split special tokens present in the vocabulary
	pad      int64
	unk      int64
	cls      int64
	sep      int64
}

// NewTokenizer returns a tokenizer over v configured by opts.
func NewTokenizer(v *Vocab, opts Options) (*Tokenizer, error) {
	if v == nil {
		return nil, errors.New("text: nil vocabulary")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := &Tokenizer{vocab: v, lower: opts.LowerCase, maxLen: opts.MaxLen}
	if t.maxLen == 0 {
		t.maxLen = DefaultMaxLen
	}
	t.pad, _ = v.ID(TokenPad)
	t.unk, _ = v.ID(TokenUnk)
	t.cls, _ = v.ID(TokenCLS)
	t.sep, _ = v.ID(TokenSEP)
	for _, s := range []string{TokenPad, TokenUnk, TokenCLS, TokenSEP, TokenMask} {
		if _, ok := v.ID(s); ok {
			t.specials = append(t.specials, s)
		}
	}
	return t, nil
}

// MaxLen returns the length of every Encoding.
func (t *Tokenizer) MaxLen() int { return t.maxLen }

// Vocab returns the tokenizer's vocabulary.
func (t *Tokenizer) Vocab() *Vocab { return t.vocab }

// Encode tokenizes text into [CLS] pieces [SEP], truncated on the right and
// padded to MaxLen. Invalid UTF-8 bytes are dropped like U+FFFD.
//
// The steps follow HuggingFace's BERT tokenizer: literal special tokens
// ([CLS], [SEP], [PAD], [UNK], [MASK], case-sensitive) are split out first
// and never normalized; the rest is cleaned (NUL, U+FFFD and control,
// format and private-use characters dropped, white space turned into
// spaces), CJK ideographs are isolated, and with LowerCase the text is
// lower-cased and stripped of accents; it is then split on white space and
// punctuation, and each word is split greedily into the longest vocabulary
// pieces, continuation pieces carrying the "##" prefix. A word longer than
// 100 characters, or one that cannot be split, becomes [UNK].
func (t *Tokenizer) Encode(text string) Encoding {
	var enc Encoding
	t.encodeTo(&enc, text, nil)
	return enc
}

// EncodeTo is Encode writing into enc. Slices of enc with room for MaxLen
// entries are reused and the others replaced, so a caller that keeps one
// Encoding encodes text after text without allocating the result.
func (t *Tokenizer) EncodeTo(enc *Encoding, text string) {
	t.encodeTo(enc, text, nil)
}

// encodeTo is EncodeTo that also appends the pre-tokenized words to *words
// when words is not nil; Encoding.WordIDs index into them.
func (t *Tokenizer) encodeTo(enc *Encoding, text string, words *[]string) {
	enc.InputIDs = resize(enc.InputIDs, t.maxLen)
	enc.AttentionMask = resize(enc.AttentionMask, t.maxLen)
	enc.TokenTypeIDs = resize(enc.TokenTypeIDs, t.maxLen)
	enc.Tokens = resize(enc.Tokens, t.maxLen)
	enc.WordIDs = resize(enc.WordIDs, t.maxLen)
	e := emitter{t: t, enc: enc, n: 1}
	enc.InputIDs[0], enc.Tokens[0], enc.WordIDs[0] = t.cls, TokenCLS, -1
	t.basicWords(text, func(w string, special bool) {
		if words != nil {
			*words = append(*words, w)
		}
		if special {
			id, _ := t.vocab.ID(w)
			e.piece(id, w)
		} else {
			t.wordPiece(w, &e)
		}
		e.word++
	})
	enc.NumWordPieces = e.total
	end := min(e.n, t.maxLen-1)
	enc.InputIDs[end], enc.Tokens[end], enc.WordIDs[end] = t.sep, TokenSEP, -1
	clear(enc.TokenTypeIDs)
	for i := range t.maxLen {
		enc.AttentionMask[i] = 0
		if i <= end {
			enc.AttentionMask[i] = 1
		}
	}
	for i := end + 1; i < t.maxLen; i++ {
		enc.InputIDs[i], enc.Tokens[i], enc.WordIDs[i] = t.pad, TokenPad, -1
	}
}

// resize returns s with length n, reusing its array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// emitter appends word pieces to an Encoding, counting the ones that no
// longer fit.
type emitter struct {
	t     *Tokenizer
	enc   *Encoding
	n     int // next position
	total int // pieces seen, truncated ones included
	word  int // current word index
}

func (e *emitter) piece(id int64, tok string) {
	e.total++
	if e.n >= e.t.maxLen-1 {
		return
	}
	e.enc.InputIDs[e.n], e.enc.Tokens[e.n], e.enc.WordIDs[e.n] = id, tok, e.word
	e.n++
}

// words returns the pre-tokenized words of text (see Encode), before
// WordPiece. Literal special tokens come out as single words.
func (t *Tokenizer) words(text string) []string {
	var words []string
	t.basicWords(text, func(w string, _ bool) { words = append(words, w) })
	return words
}

// basicWords calls fn for each pre-tokenized word of text, in order; special
// is true for a literal special token.
func (t *Tokenizer) basicWords(text string, fn func(w string, special bool)) {
	for len(text) > 0 {
		at, tok := t.nextSpecial(text)
		if at < 0 {
			t.splitWords(t.normalize(text), fn)
			return
		}
		if at > 0 {
			t.splitWords(t.normalize(text[:at]), fn)
		}
		fn(tok, true)
		text = text[at+len(tok):]
	}
}

// nextSpecial finds the leftmost literal special token in s, the longest
// one when several start at the same byte (HuggingFace matches added tokens
// leftmost-longest on the raw text). It returns -1 when there is none.
func (t *Tokenizer) nextSpecial(s string) (int, string) {
	off := 0
	for {
		i := strings.IndexByte(s[off:], '[')
		if i < 0 {
			return -1, ""
		}
		at := off + i
		best := ""
		for _, sp := range t.specials {
			if len(sp) > len(best) && strings.HasPrefix(s[at:], sp) {
				best = sp
			}
		}
		if best != "" {
			return at, best
		}
		off = at + 1
	}
}

// normalize applies the BERT normalizer to s in the order of HuggingFace
// tokenizers' BertNormalizer: clean text, isolate CJK characters, strip
// accents and lower-case.
func (t *Tokenizer) normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if r < utf8.RuneSelf {
			// ASCII fast path: C0 controls and DEL are Cc, dropped except
			// tab, newline and carriage return, which are white space.
			switch {
			case r == '\t' || r == '\n' || r == '\r' || r == ' ':
				b.WriteByte(' ')
			case r >= 0x20 && r != 0x7F:
				b.WriteByte(byte(r))
			}
			continue
		}
		switch {
		case r == utf8.RuneError || isControl(r):
		case isWhitespace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if !t.lower {
		return out
	}
	if !isASCII(out) {
		out = norm.NFD.String(out)
	}
	b.Reset()
	b.Grow(len(out))
	for _, r := range out {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteByte(byte(r) + 'a' - 'A')
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		case !unicode.Is(unicode.Mn, r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// splitWords splits normalized text on white space (dropped) and
// punctuation (each character its own word) and calls fn for each word.
func (t *Tokenizer) splitWords(s string, fn func(w string, special bool)) {
	start := -1
	for i, r := range s {
		switch {
		case isWhitespace(r):
			if start >= 0 {
				fn(s[start:i], false)
				start = -1
			}
		case isPunct(r):
			if start >= 0 {
				fn(s[start:i], false)
				start = -1
			}
			fn(s[i:i+utf8.RuneLen(r)], false)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		fn(s[start:], false)
	}
}

// wordPiece splits one word greedily into the longest vocabulary pieces
// (Schuster & Nakajima 2012; Devlin et al. 2019, BERT) and emits them, or
// emits [UNK] when the word is too long or cannot be covered.
func (t *Tokenizer) wordPiece(w string, e *emitter) {
	if utf8.RuneCountInString(w) > maxWordChars {
		e.piece(t.unk, TokenUnk)
		return
	}
	// Pieces are collected first: a word that cannot be covered yields a
	// single [UNK], not a partial split.
	var buf [16]int64
	ids := buf[:0]
	for start := 0; start < len(w); {
		end := len(w)
		id, found := int64(0), false
		for end > start {
			if start == 0 {
				id, found = t.vocab.ids[w[:end]]
			} else {
				id, found = t.vocab.cont[w[start:end]]
			}
			if found {
				break
			}
			_, size := utf8.DecodeLastRuneInString(w[start:end])
			end -= size
		}
		if !found {
			e.piece(t.unk, TokenUnk)
			return
		}
		ids = append(ids, id)
		start = end
	}
	for _, id := range ids {
		e.piece(id, t.vocab.tokens[id])
	}
}

// isWhitespace reports the BERT white space: the Unicode White_Space
// property (HuggingFace tokenizers uses char::is_whitespace).
func isWhitespace(r rune) bool { return unicode.IsSpace(r) }

// isControl reports the non-ASCII characters BERT's cleaner drops:
// categories Cc, Cf and Co (normalize handles ASCII, where tab, newline and
// carriage return count as white space). This is HuggingFace tokenizers'
// is_control (char::is_other of the unicode_categories crate); the Python
// BertTokenizer also drops unassigned code points (Cn), which are kept here
// as in the reference.
func isControl(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isPunct reports BERT punctuation: the ASCII ranges 33-47, 58-64, 91-96 and
// 123-126 (which include symbols such as $ and ^) plus Unicode category P.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return r > 127 && unicode.IsPunct(r)
}

// isCJK reports the CJK Unified Ideographs blocks that BERT isolates one per
// token. Source: _is_chinese_char in google-research/bert tokenization.py
// (and HuggingFace's copy): U+4E00-9FFF, U+3400-4DBF, U+20000-2A6DF,
// U+2A700-2B73F, U+2B740-2B81F, U+2B820-2CEAF, U+F900-FAFF, U+2F800-2FA1F.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isSpecial reports whether w is one of the tokenizer's literal special
// tokens.
func (t *Tokenizer) isSpecial(w string) bool {
	for _, s := range t.specials {
		if w == s {
			return true
		}
	}
	return false
}
