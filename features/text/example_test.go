package text_test

import (
	"fmt"
	"log"

	"github.com/cmc-stream/cmc-stream/features/text"
)

func ExampleTokenizer_Encode() {
	vocab, err := text.LoadVocab("../../testdata/bert-tokenizer/bert-base-uncased-vocab.txt")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := text.NewTokenizer(vocab, text.Options{LowerCase: true, MaxLen: 8})
	if err != nil {
		log.Fatal(err)
	}
	enc := tok.Encode("Plug a converter!")
	fmt.Println(enc.Tokens)
	fmt.Println(enc.InputIDs)
	fmt.Println(enc.AttentionMask)
	// Output:
	// [[CLS] plug a convert ##er ! [SEP] [PAD]]
	// [101 13354 1037 10463 2121 999 102 0]
	// [1 1 1 1 1 1 1 0]
}

func ExampleLexiconEncoder() {
	vocab, err := text.LoadVocab("../../testdata/bert-tokenizer/bert-base-uncased-vocab.txt")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := text.NewTokenizer(vocab, text.Options{LowerCase: true, MaxLen: 6})
	if err != nil {
		log.Fatal(err)
	}
	vader, err := text.LoadVADERLexicon("testdata/vader_lexicon_excerpt.txt")
	if err != nil {
		log.Fatal(err)
	}
	enc, err := text.NewLexiconEncoder(tok, text.LexiconConfig{VADER: vader})
	if err != nil {
		log.Fatal(err)
	}
	feats, shape, err := enc.Encode([]string{"good", "not good"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shape)
	// VADER column of rows 1 and 2 (row 0 is [CLS]) of each text.
	at := func(b, row int) float32 { return feats[(b*shape[1]+row)*shape[2]+text.ColVADER] }
	for b := range shape[0] {
		fmt.Printf("%.4f %.4f\n", at(b, 1), at(b, 2))
	}
	// Output:
	// [2 6 64]
	// 0.4750 0.0000
	// 0.0000 -0.3515
}
