// Package features holds what the offline extraction (cmc-stream extract)
// and the live pipeline (cmc-stream run) share about features: the feature
// spec that a dataset and a model bundle record, and the check that a
// bundle's spec matches the configured extractors. The extractors live in
// the sub-packages audio, text, vision and vad.
package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// Modality names used as keys of a Spec.
const (
	Text   = "text"
	Audio  = "audio"
	Vision = "vision"
)

// Spec describes the extractors behind each modality's features: for each
// modality a JSON object with at least "name", "version" and the
// parameters that change the numbers. It is stored in datasets made by
// extract and in model bundles trained from them.
type Spec map[string]json.RawMessage

// Set stores v (any JSON-encodable description) as modality m's spec.
func (s Spec) Set(m string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("features: spec %s: %w", m, err)
	}
	s[m] = raw
	return nil
}

// Check returns an error naming the first modality and field where got
// differs from s (the bundle's spec), or nil when every modality of s is
// described identically in got.
func (s Spec) Check(got Spec) error {
	mods := make([]string, 0, len(s))
	for m := range s {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		g, ok := got[m]
		if !ok {
			return fmt.Errorf("features: the model was trained on %s features %s, but no %s extractor is configured", m, s[m], m)
		}
		var want, have map[string]any
		if err := decodeObject(s[m], &want); err != nil {
			return fmt.Errorf("features: model spec %s: %w", m, err)
		}
		if err := decodeObject(g, &have); err != nil {
			return fmt.Errorf("features: extractor spec %s: %w", m, err)
		}
		keys := make([]string, 0, len(want)+len(have))
		for k := range want {
			keys = append(keys, k)
		}
		for k := range have {
			if _, dup := want[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !reflect.DeepEqual(want[k], have[k]) {
				w, _ := json.Marshal(want[k])
				h, _ := json.Marshal(have[k])
				return fmt.Errorf("features: %s.%s is %s in the configured extractor but %s in the model bundle", m, k, h, w)
			}
		}
	}
	return nil
}

func decodeObject(raw []byte, v *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
