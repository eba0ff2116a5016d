package text

import (
	"fmt"
	"strings"
)

// phraseTable maps lexicon phrases, split into words by a tokenizer's
// pre-tokenizer and lower-cased, to values, and finds the longest phrase
// starting at a word.
type phraseTable struct {
	values   map[string]float64  // words joined by one space -> value
	prefixes map[string]struct{} // proper word prefixes of the phrases
	maxWords int
}

// newPhraseTable normalizes the entries of lex with tok; name labels errors.
// When two entries normalize alike, the first one wins.
func newPhraseTable(tok *Tokenizer, name string, lex Lexicon) (*phraseTable, error) {
	p := &phraseTable{values: make(map[string]float64, len(lex)), prefixes: make(map[string]struct{})}
	for i, ent := range lex {
		words := tok.words(ent.Phrase)
		if len(words) == 0 {
			return nil, fmt.Errorf("text: %s lexicon entry %d (%q) has no words after normalization", name, i, ent.Phrase)
		}
		for j, w := range words {
			words[j] = strings.ToLower(w)
		}
		key := strings.Join(words, " ")
		if _, dup := p.values[key]; dup {
			continue
		}
		p.values[key] = ent.Valence
		for j := 1; j < len(words); j++ {
			p.prefixes[strings.Join(words[:j], " ")] = struct{}{}
		}
		p.maxWords = max(p.maxWords, len(words))
	}
	return p, nil
}

// match returns the word count and value of the longest phrase that starts
// at words[i], or 0 and 0 when none does. key is scratch space.
func (p *phraseTable) match(words []string, i int, key *[]byte) (int, float64) {
	n, v := 0, 0.0
	k := (*key)[:0]
	for j := i; j < len(words) && j-i < p.maxWords; j++ {
		if j > i {
			k = append(k, ' ')
		}
		k = append(k, words[j]...)
		if val, ok := p.values[string(k)]; ok {
			n, v = j-i+1, val
		}
		if _, ok := p.prefixes[string(k)]; !ok {
			break
		}
	}
	*key = k
	return n, v
}

// exact reports whether words form exactly one phrase of the table. key is
// scratch space.
func (p *phraseTable) exact(words []string, key *[]byte) bool {
	k := (*key)[:0]
	for j, w := range words {
		if j > 0 {
			k = append(k, ' ')
		}
		k = append(k, w...)
	}
	*key = k
	_, ok := p.values[string(k)]
	return ok
}
