package train

import (
	"slices"
	"testing"
)

func TestSyntheticMOSI(t *testing.T) {
	s := SyntheticMOSI(3, 7)
	if s.Len() != 3 || s.Text.L != 50 || s.Text.D != 768 || s.Audio.L != 375 || s.Audio.D != 5 || s.Vision.L != 500 || s.Vision.D != 20 ||
		len(s.Text.Data) != 3*50*768 || len(s.Audio.Data) != 3*375*5 || len(s.Vision.Data) != 3*500*20 || len(s.RawText) != 3 {
		t.Fatalf("shapes: %d clips, text %+v, audio %+v, vision %+v", s.Len(), s.Text, s.Audio, s.Vision)
	}
	if !slices.Equal(s.IDs, []string{"clip00000", "clip00001", "clip00002"}) {
		t.Errorf("ids %q", s.IDs)
	}
	for _, y := range s.Regression {
		if y != float32(int(y)) || y < -3 || y > 3 {
			t.Errorf("label %v is not an integer in [-3, 3]", y)
		}
	}
	if again := SyntheticMOSI(3, 7); !slices.Equal(again.Audio.Data, s.Audio.Data) || !slices.Equal(again.Regression, s.Regression) {
		t.Error("the same seed gave another split")
	}
	if other := SyntheticMOSI(3, 8); slices.Equal(other.Text.Data, s.Text.Data) {
		t.Error("another seed gave the same features")
	}
}
