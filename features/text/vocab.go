package text

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// Special token strings of the Google BERT vocabularies.
const (
	// TokenPad pads an Encoding to MaxLen (id 0 in the Google vocabularies).
	TokenPad = "[PAD]"
	// TokenUnk stands for a word that WordPiece cannot split.
	TokenUnk = "[UNK]"
	// TokenCLS opens every Encoding.
	TokenCLS = "[CLS]"
	// TokenSEP closes the word pieces of every Encoding.
	TokenSEP = "[SEP]"
	// TokenMask is the masked-language-model token; it is never split when
	// it appears literally in the text.
	TokenMask = "[MASK]"
)

// maxVocabLineBytes bounds one vocabulary line. The longest BERT vocabulary
// entries are a few dozen bytes; 64 KiB leaves room for any sane file while
// stopping a binary file from being read as one giant token.
const maxVocabLineBytes = 64 << 10

// Vocab is a WordPiece vocabulary read from a BERT vocab.txt file: one token
// per line, the token's id being its zero-based line number. A Vocab is
// immutable once built and safe for concurrent use.
type Vocab struct {
	ids    map[string]int64 // token -> id
	cont   map[string]int64 // "##x" tokens keyed by x
	tokens []string         // id -> token (the line as read)
}

// LoadVocab reads a BERT vocab.txt file. See ReadVocab for the format.
func LoadVocab(path string) (*Vocab, error) {
	return loadFile(path, "vocabulary", ReadVocab)
}

// loadFile opens path and parses it with read; what names the kind of file
// in errors.
func loadFile[T any](path, what string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("text: open %s: %w", what, err)
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("text: %s %s: %w", what, path, err)
	}
	return v, nil
}

// ReadVocab reads a vocabulary in the vocab.txt format: one token per line,
// ids by line number from 0. Trailing white space (including "\r") is
// trimmed from each line, as the HuggingFace tokenizers library does; when
// a token occurs twice the later line's id wins, as in HuggingFace. The
// special tokens [PAD], [UNK], [CLS] and [SEP] must be present.
func ReadVocab(r io.Reader) (*Vocab, error) {
	v := &Vocab{ids: make(map[string]int64), cont: make(map[string]int64)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxVocabLineBytes)
	for sc.Scan() {
		tok := strings.TrimRightFunc(sc.Text(), unicode.IsSpace)
		id := int64(len(v.tokens))
		v.tokens = append(v.tokens, tok)
		v.ids[tok] = id
		if rest, ok := strings.CutPrefix(tok, "##"); ok {
			v.cont[rest] = id
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("text: vocabulary line %d longer than %d bytes: %w", len(v.tokens)+1, maxVocabLineBytes, err)
		}
		return nil, fmt.Errorf("text: read vocabulary: %w", err)
	}
	if len(v.tokens) == 0 {
		return nil, errors.New("text: vocabulary is empty")
	}
	for _, s := range []string{TokenPad, TokenUnk, TokenCLS, TokenSEP} {
		if _, ok := v.ids[s]; !ok {
			return nil, fmt.Errorf("text: vocabulary lacks the special token %s", s)
		}
	}
	return v, nil
}

// Size returns the number of lines (ids) in the vocabulary.
func (v *Vocab) Size() int { return len(v.tokens) }

// ID returns the id of token and whether the vocabulary holds it.
func (v *Vocab) ID(token string) (int64, bool) {
	id, ok := v.ids[token]
	return id, ok
}

// Token returns the token with the given id, or "" and false when id is out
// of range.
func (v *Vocab) Token(id int64) (string, bool) {
	if id < 0 || id >= int64(len(v.tokens)) {
		return "", false
	}
	return v.tokens[id], true
}
