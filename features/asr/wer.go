package asr

import (
	"strings"
	"unicode"
)

// Words splits text into lower-case words for scoring: letters, digits
// and apostrophes inside a word are kept, every other rune separates
// words ("Don't stop." gives "don't", "stop").
func Words(text string) []string {
	f := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	out := f[:0]
	for _, w := range f {
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// EditDistance returns the word-level Levenshtein distance between ref and
// hyp: the least number of substitutions, deletions and insertions that
// turn ref into hyp. The word error rate of a corpus is the sum of the
// distances over the sum of len(ref).
func EditDistance(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}
