package features

import (
	"strings"
	"testing"
)

func TestSpecCheck(t *testing.T) {
	bundle := Spec{}
	bundle.Set(Audio, map[string]any{"name": "mmsa33", "version": "1", "hop_length": 512, "columns": []string{"zcr", "mfcc_1"}})
	bundle.Set(Text, map[string]any{"name": "lexicon", "max_len": 50})
	same := Spec{}
	same.Set(Text, map[string]any{"max_len": 50, "name": "lexicon"})
	same.Set(Audio, map[string]any{"version": "1", "name": "mmsa33", "columns": []string{"zcr", "mfcc_1"}, "hop_length": 512})
	same.Set(Vision, map[string]any{"name": "extra"}) // a modality the bundle does not use is fine
	if err := bundle.Check(same); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(s Spec)
		want string
	}{
		{"hop differs", func(s Spec) {
			s.Set(Audio, map[string]any{"name": "mmsa33", "version": "1", "hop_length": 256, "columns": []string{"zcr", "mfcc_1"}})
		}, "audio.hop_length is 256 in the configured extractor but 512 in the model bundle"},
		{"column order", func(s Spec) {
			s.Set(Audio, map[string]any{"name": "mmsa33", "version": "1", "hop_length": 512, "columns": []string{"mfcc_1", "zcr"}})
		}, "audio.columns"},
		{"extra parameter", func(s Spec) { s.Set(Text, map[string]any{"name": "lexicon", "max_len": 50, "seed": 3}) }, "text.seed is 3"},
		{"missing modality", func(s Spec) { delete(s, Text) }, "no text extractor is configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Spec{}
			for k, v := range same {
				got[k] = v
			}
			c.edit(got)
			if err := bundle.Check(got); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
