package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSchemaCommand lists the schemas and prints each one, byte for byte
// the file in event/schema.
func TestSchemaCommand(t *testing.T) {
	code, stdout, stderr := runCLI("schema")
	if code != 0 || stdout != "cmc.alert.v1\ncmc.call_summary.v1\ncmc.sentiment.v2\n" {
		t.Fatalf("schema: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for name := range strings.FieldsSeq(stdout) {
		code, doc, stderr := runCLI("schema", name)
		if code != 0 {
			t.Fatalf("schema %s: exit %d: %s", name, code, stderr)
		}
		file, err := os.ReadFile("../../event/schema/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if doc != string(file) {
			t.Errorf("schema %s differs from event/schema/%s.json", name, name)
		}
		var v struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(doc), &v); err != nil || v.Title != name {
			t.Errorf("schema %s: title %q, %v", name, v.Title, err)
		}
	}
	if code, _, stderr := runCLI("schema", "cmc.sentiment.v1"); code != exitUsage || !strings.Contains(stderr, "cmc.sentiment.v2") {
		t.Errorf("unknown schema: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI("schema", "a", "b"); code != exitUsage || stderr != "cmc-stream schema: usage: cmc-stream schema [NAME]\n" {
		t.Errorf("two names: exit %d, %q", code, stderr)
	}
}
