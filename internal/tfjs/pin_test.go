package tfjs

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

// TestEmotionConversionPin converts the expression model fetched by make
// setup and wants the sha256 that scripts/setup.sh pins for the
// emotion.onnx it installs: the conversion is deterministic, and a change
// of the converter that alters the model must update the pin (and so every
// clone's emotion.onnx, converted again by make setup).
func TestEmotionConversionPin(t *testing.T) {
	script, err := os.ReadFile("../../scripts/setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`(?m)^EXPR_ONNX_SHA256="([0-9a-f]{64})"$`).FindSubmatch(script)
	if pin == nil {
		t.Fatal("scripts/setup.sh pins no EXPR_ONNX_SHA256")
	}
	m, err := ConvertFile(filepath.Join(envconfig.Resolve(envconfig.Native{}).AssetsDir, "models", "emotion.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for range 2 {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	if sums[0] != sums[1] {
		t.Fatalf("two encodings of one model differ: %s, %s", sums[0], sums[1])
	}
	if sums[0] != string(pin[1]) {
		t.Errorf("converted emotion.onnx has sha256 %s, scripts/setup.sh pins %s", sums[0], pin[1])
	}
}
