package text

import "testing"

// TestBuiltinVocab checks the shipped vocabularies' sizes against the
// tokenizer goldens' README (30,522 and 21,128 lines) and an id from them.
func TestBuiltinVocab(t *testing.T) {
	for lang, size := range map[string]int{"en": 30522, "zh": 21128} {
		v, err := BuiltinVocab(lang)
		if err != nil {
			t.Fatal(err)
		}
		if v.Size() != size {
			t.Errorf("%s: %d entries, want %d", lang, v.Size(), size)
		}
		if id, ok := v.ID(TokenCLS); !ok || id != 101 {
			t.Errorf("%s: [CLS] id %d, want 101", lang, id)
		}
	}
	if _, err := BuiltinVocab("fr"); err == nil {
		t.Error("unknown language accepted")
	}
}
