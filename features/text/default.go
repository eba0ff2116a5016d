package text

import (
	"bytes"
	_ "embed"
	"fmt"
)

// The BERT vocabularies shipped with the package (Apache-2.0, Google BERT):
// bert-base-uncased (30,522 entries, sha256 07eced37…) for English and
// bert-base-chinese (21,128 entries, sha256 45bbac6b…) for Chinese, the
// vocabularies of the MMSA pickles (cmc-model.md §1.2).
var (
	//go:embed vocab/bert-base-uncased-vocab.txt
	uncasedVocab []byte
	//go:embed vocab/bert-base-chinese-vocab.txt
	chineseVocab []byte
)

// BuiltinVocab returns the shipped vocabulary for lang: "en"
// (bert-base-uncased) or "zh" (bert-base-chinese).
func BuiltinVocab(lang string) (*Vocab, error) {
	switch lang {
	case "en":
		return ReadVocab(bytes.NewReader(uncasedVocab))
	case "zh":
		return ReadVocab(bytes.NewReader(chineseVocab))
	}
	return nil, fmt.Errorf("text: no built-in vocabulary for language %q (want \"en\" or \"zh\")", lang)
}
