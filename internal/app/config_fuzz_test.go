package app

import (
	"os"
	"testing"
)

// FuzzDecodeConfig checks that no YAML input makes DecodeConfig panic and
// that an accepted configuration validates.
func FuzzDecodeConfig(f *testing.F) {
	for _, name := range []string{"../../configs/files.yaml", "../../configs/kafka-callcentre.yaml", "../../configs/webcam.yaml"} {
		if raw, err := os.ReadFile(name); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("model: {bundle: x}\nsinks: {stdout: {}}\nsources: {transcripts: {file: t}}\nwindow: {max_wait: -1s}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeConfig(raw)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("DecodeConfig accepted a configuration that does not validate: %v", err)
		}
	})
}
