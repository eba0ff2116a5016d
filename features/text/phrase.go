package text

import (
	"fmt"
	"strings"
)

// phraseTable maps lexicon phrases, split into words by a tokenizer's
// pre-tokenizer and lower-cased, to values, and finds the longest phrase
// starting at a word.
type phraseTable struct {
	// nodes holds every phrase and every proper word prefix of a phrase,
	// words joined by one space.
	nodes    map[string]phraseNode
	maxWords int
}

// phraseNode is a phrase, a prefix of longer phrases, or both.
type phraseNode struct {
	value    float64
	isPhrase bool // value is set
	isPrefix bool // some longer phrase starts with these words
}

// newPhraseTable normalizes the entries of lex with tok; name labels errors.
// When two entries normalize alike, the first one wins.
func newPhraseTable(tok *Tokenizer, name string, lex Lexicon) (*phraseTable, error) {
	p := &phraseTable{nodes: make(map[string]phraseNode, len(lex))}
	for i, ent := range lex {
		words := tok.words(ent.Phrase)
		if len(words) == 0 {
			return nil, fmt.Errorf("text: %s lexicon entry %d (%q) has no words after normalization", name, i, ent.Phrase)
		}
		for j, w := range words {
			words[j] = strings.ToLower(w)
		}
		key := strings.Join(words, " ")
		node := p.nodes[key]
		if node.isPhrase {
			continue
		}
		node.value, node.isPhrase = ent.Valence, true
		p.nodes[key] = node
		for j := 1; j < len(words); j++ {
			pre := strings.Join(words[:j], " ")
			node := p.nodes[pre]
			node.isPrefix = true
			p.nodes[pre] = node
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
		node := p.nodes[string(k)]
		if node.isPhrase {
			n, v = j-i+1, node.value
		}
		if !node.isPrefix {
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
	return p.nodes[string(k)].isPhrase
}
