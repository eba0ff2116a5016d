package bert

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/cmc-stream/cmc-stream/features/bert/berttest"
	"github.com/cmc-stream/cmc-stream/features/text"
)

// TestEncoder runs the tiny model through real ONNX Runtime and checks the
// hidden states against the closed form, with the tokenizer's ids.
func TestEncoder(t *testing.T) {
	v, err := text.BuiltinVocab("en")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := text.NewTokenizer(v, text.Options{LowerCase: true, MaxLen: 10})
	if err != nil {
		t.Fatal(err)
	}
	const hidden = 4
	enc, err := Open(berttest.WriteTiny(t, v.Size(), hidden), "", tok, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if enc.Dim() != hidden || enc.MaxLen() != 10 {
		t.Fatalf("dim %d, max len %d", enc.Dim(), enc.MaxLen())
	}
	s := "What a great day!"
	dst := make([]float32, 10*hidden)
	if err := enc.EncodeTo(dst, s); err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(s)
	for tk := range 10 {
		for j := range hidden {
			want := float32(0)
			if ids.AttentionMask[tk] == 1 {
				want = float32(ids.InputIDs[tk])/1000 + float32(j)
			}
			if got := dst[tk*hidden+j]; math.Abs(float64(got-want)) > 1e-4 {
				t.Fatalf("token %d (%s) col %d = %v, want %v", tk, ids.Tokens[min(tk, len(ids.Tokens)-1)], j, got, want)
			}
		}
	}
	if err := enc.EncodeTo(make([]float32, 3), s); err == nil {
		t.Error("short destination accepted")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.onnx"), "", tok, 1); err == nil {
		t.Error("missing model accepted")
	}
}
