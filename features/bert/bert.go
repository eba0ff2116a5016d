// Package bert runs a user's BERT-style text encoder exported to ONNX (for
// example bert-base-uncased or bert-base-chinese, the encoders behind the
// MMSA text features) through ONNX Runtime, and returns the last hidden
// states per token: the "text" features of the CMU-MOSI, CMU-MOSEI and
// CH-SIMS pickles. The model must take int64 inputs input_ids,
// attention_mask and token_type_ids of shape [batch, tokens] and give a
// float32 output of shape [batch, tokens, hidden].
package bert

import (
	"errors"
	"fmt"

	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// DefaultOutput is the output name of a Hugging Face BERT export.
const DefaultOutput = "last_hidden_state"

// Encoder tokenises a text and runs the ONNX model on it. It satisfies the
// live pipeline's text encoder contract. Safe for concurrent use: ONNX
// Runtime sessions are, and the tokenizer is immutable.
type Encoder struct {
	tok     *text.Tokenizer
	session *onnx.Session
	dim     int
	path    string
}

// Open loads the model at path with the given output name (DefaultOutput
// when empty) and learns its hidden size by encoding an empty text. ONNX
// Runtime must have been initialised (onnx.Init, by the command).
func Open(path, output string, tok *text.Tokenizer, threads int) (*Encoder, error) {
	if tok == nil {
		return nil, errors.New("bert: nil tokenizer")
	}
	if output == "" {
		output = DefaultOutput
	}
	s, err := onnx.Open(path, nil, []string{"input_ids", "attention_mask", "token_type_ids"}, []string{output}, threads)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	e := &Encoder{tok: tok, session: s, path: path}
	out, err := e.run("")
	if err != nil {
		_ = s.Close() // the probe run's error is the one to report
		return nil, err
	}
	e.dim = len(out) / tok.MaxLen()
	return e, nil
}

// run encodes one text and returns the model's output values.
func (e *Encoder) run(s string) ([]float32, error) {
	enc := e.tok.Encode(s)
	shape := []int64{1, int64(len(enc.InputIDs))}
	out, err := e.session.Run(
		onnx.Tensor{Shape: shape, I64: enc.InputIDs},
		onnx.Tensor{Shape: shape, I64: enc.AttentionMask},
		onnx.Tensor{Shape: shape, I64: enc.TokenTypeIDs},
	)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	o := out[0]
	if len(o.Shape) != 3 || o.Shape[0] != 1 || o.Shape[1] != shape[1] || o.Shape[2] < 1 {
		return nil, fmt.Errorf("bert: %s: output shape %v, want [1,%d,hidden]", e.path, o.Shape, shape[1])
	}
	return o.F32, nil
}

// EncodeTo writes the last hidden states of s, MaxLen rows of Dim values,
// into dst.
func (e *Encoder) EncodeTo(dst []float32, s string) error {
	if len(dst) != e.MaxLen()*e.dim {
		return fmt.Errorf("bert: destination holds %d values, want %d*%d", len(dst), e.MaxLen(), e.dim)
	}
	out, err := e.run(s)
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return fmt.Errorf("bert: %s: %d output values, want %d", e.path, len(out), len(dst))
	}
	copy(dst, out)
	return nil
}

// Dim returns the hidden size.
func (e *Encoder) Dim() int { return e.dim }

// MaxLen returns the number of token rows, the tokenizer's MaxLen.
func (e *Encoder) MaxLen() int { return e.tok.MaxLen() }

// Close releases the model.
func (e *Encoder) Close() error { return e.session.Close() }
