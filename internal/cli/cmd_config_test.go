package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigLint(t *testing.T) {
	if code, stdout, stderr := runCLI("config", "lint", "../../configs/kafka-callcentre.yaml"); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  bundle: x\nsources:\n  transcripts:\n    file: t.jsonl\nsinks:\n  stdout:\n    format: xml\n"), 0o644)
	if code, _, stderr := runCLI("config", "lint", bad); code != exitError || !strings.Contains(stderr, "sinks.stdout.format") {
		t.Errorf("bad config: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI("config", "check"); code != exitUsage || stderr != "cmc-stream config: usage: cmc-stream config lint FILE\n" {
		t.Errorf("wrong subcommand: exit %d, %q", code, stderr)
	}
}
