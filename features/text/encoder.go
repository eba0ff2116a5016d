package text

// Encoder turns a batch of texts into per-token feature vectors for the CMC
// text branch.
//
// Encode returns the features of all texts in row-major order with shape
// [len(texts), MaxLen, Dim]: text b, token position t and column c are at
// features[(b*MaxLen+t)*Dim+c]. Positions follow the tokenizer's Encoding
// ([CLS], word pieces, [SEP], padding), so the attention mask of the same
// text lines up with the rows. An empty batch gives nil features, shape
// [0, MaxLen, Dim] and no error. Encode does no I/O and does not block; a
// text it cannot encode gives an error naming its index and no features.
// Dim is the number of columns per token.
//
// Implementations are safe for concurrent use; nothing needs closing.
type Encoder interface {
	Encode(texts []string) (features []float32, shape [3]int, err error)
	Dim() int
}
