// Package text is the text front end of cmc-stream: a BERT WordPiece
// tokenizer and a default text encoder that needs no downloaded weights.
//
// # Tokenizer
//
// Tokenizer reproduces the tokenization MMSA used to build the CMU-MOSI,
// CMU-MOSEI and CH-SIMS features (cmc-model.md §6.4): for any BERT
// vocab.txt it gives the same input ids, attention mask, token type ids and
// tokens as HuggingFace's BertTokenizerFast and BertTokenizer (Devlin et al.
// 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
// Understanding", arXiv 1810.04805). The package tests check every record
// of testdata/bert-tokenizer/bert_tok_shared.jsonl, produced by HuggingFace
// tokenizers 0.22.2 for the bert-base-uncased and bert-base-chinese
// vocabularies.
//
// Lower-casing strips accents through Unicode canonical decomposition (NFD),
// which comes from golang.org/x/text/unicode/norm, the Go project's own
// well-maintained normalization library; the rest is the standard library.
// Character classes use the Unicode tables of the Go release that builds
// the package.
//
// # Encoders
//
// Encoder is the contract for turning a batch of texts into per-token
// feature vectors of shape [batch, MaxLen, Dim]. LexiconEncoder, the default
// encoder, combines per-word valence from the VADER (Hutto & Gilbert 2014)
// and AFINN-165 (Nielsen 2011) lexicons, VADER's negation and booster cues,
// and hashed word-piece embeddings; the Col constants document its columns.
// It is deterministic, pure Go and cheap, so it runs in tests and on
// machines without a BERT model. A BERT encoder needs ONNX Runtime through
// cgo and so belongs in internal/onnx, fed by this package's Tokenizer.
//
// Everything in this package builds and runs with CGO_ENABLED=0.
package text
