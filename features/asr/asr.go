// Package asr recognises speech into text with word times, offline, with
// PocketSphinx (Debian 12's libpocketsphinx 0.8+5prealpha+1-15 and its US
// English model, pocketsphinx-en-us; make setup installs both). It is a
// cgo leaf package: the build tag nopocketsphinx or CGO_ENABLED=0 gives a
// build whose New returns ErrNotBuilt.
//
// Input is a speech segment of 16 kHz mono audio; a Recognizer carries a
// decoder and its models (about 40 MB), so use one per stream and close it.
package asr

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// SampleRate is the rate, in Hz, the acoustic model was trained on and
// Recognize expects.
const SampleRate = 16000

// DefaultModelDir is where Debian's pocketsphinx-en-us installs its model
// folder (en-us/ with the acoustic model, the language model en-us.lm.bin
// and the dictionary cmudict-en-us.dict).
const DefaultModelDir = "/usr/share/pocketsphinx/model"

// ErrNotBuilt is returned by New in a build without PocketSphinx (tag
// nopocketsphinx or CGO_ENABLED=0).
var ErrNotBuilt = errors.New("asr: built without PocketSphinx (cgo disabled or tag nopocketsphinx)")

// ErrLanguage is wrapped by the error of an unsupported language.
var ErrLanguage = errors.New("asr: unsupported language")

// Engines lists the recognition engines this package offers.
var Engines = []string{"pocketsphinx"}

// languages maps a language tag to its model files below the model
// folder: acoustic model directory, language model, dictionary.
var languages = map[string]modelFiles{
	"en": {hmm: "en-us/en-us", lm: "en-us/en-us.lm.bin", dict: "en-us/cmudict-en-us.dict"},
}

type modelFiles struct{ hmm, lm, dict string }

// Languages returns the language tags a Recognizer can be made for, sorted.
func Languages() []string {
	var l []string
	for k := range languages {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}

// CheckLanguage returns nil when lang ("" means "en") is supported, and
// otherwise an error wrapping ErrLanguage that lists the supported ones.
func CheckLanguage(lang string) error {
	if _, ok := languages[langOrDefault(lang)]; ok {
		return nil
	}
	return fmt.Errorf("%w %q (available: %s)", ErrLanguage, lang, strings.Join(Languages(), ", "))
}

// CheckEngine returns nil when engine ("" means "pocketsphinx") is
// supported, and otherwise an error listing the supported ones.
func CheckEngine(engine string) error {
	if engine == "" || slices.Contains(Engines, engine) {
		return nil
	}
	return fmt.Errorf("asr: unsupported engine %q (available: %s)", engine, strings.Join(Engines, ", "))
}

func langOrDefault(lang string) string {
	if lang == "" {
		return "en"
	}
	return lang
}

// Config configures a Recognizer.
type Config struct {
	// Lang is the language tag; default "en", the only one Debian ships a
	// model for. See Languages.
	Lang string
	// ModelDir is the folder holding the models; default DefaultModelDir.
	// The command takes it from asr.model_dir or $CMC_POCKETSPHINX_MODEL
	// (internal/envconfig).
	ModelDir string
}

// files resolves the model paths of c and checks that they exist.
func (c Config) files() (modelFiles, error) {
	if err := CheckLanguage(c.Lang); err != nil {
		return modelFiles{}, err
	}
	dir := cmp.Or(c.ModelDir, DefaultModelDir)
	m := languages[langOrDefault(c.Lang)]
	m = modelFiles{hmm: dir + "/" + m.hmm, lm: dir + "/" + m.lm, dict: dir + "/" + m.dict}
	for _, p := range []string{m.hmm, m.lm, m.dict} {
		if _, err := os.Stat(p); err != nil {
			return modelFiles{}, fmt.Errorf("asr: model file: %w (make setup installs Debian's pocketsphinx-en-us)", err)
		}
	}
	return m, nil
}

// Word is one recognised word and where it lies in the segment.
type Word struct {
	// Text is the word as the dictionary spells it (lower case).
	Text string
	// Start and End bound the word from the segment's first sample.
	Start, End time.Duration
}

// Result is the recognition of one speech segment.
type Result struct {
	// Text is the recognised words joined by spaces; empty when nothing
	// was recognised.
	Text string
	// Words are the recognised words with their times, fillers and
	// silences left out.
	Words []Word
}

// ToPCM16 converts samples in [-1, 1] to 16-bit PCM, clipping.
func ToPCM16(samples []float32) []int16 {
	out := make([]int16, len(samples))
	for i, s := range samples {
		v := s * 32767
		switch {
		case v > 32767:
			v = 32767
		case v < -32768:
			v = -32768
		case v != v: // NaN
			v = 0
		}
		out[i] = int16(v)
	}
	return out
}

// wordOf returns the word of a decoder segment, with an alternate
// pronunciation's "(2)" removed, and false for fillers and silence
// ("<s>", "</s>", "<sil>", "[NOISE]", "++...++").
func wordOf(w string) (string, bool) {
	if w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "+") {
		return "", false
	}
	if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
		w = w[:i]
	}
	return w, true
}
