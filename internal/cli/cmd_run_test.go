package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunEverythingRejected runs a transcript file whose every line names
// its stream clip_id (the layout extract reads) instead of stream_id: run
// rejects each line, counts them, and exits non-zero saying why instead of
// reporting success with no event.
func TestRunEverythingRejected(t *testing.T) {
	dir := t.TempDir()
	transcript := filepath.Join(dir, "t.jsonl")
	lines := `{"clip_id":"showcase","start":0,"end":4.5,"text":"The package arrived."}
{"clip_id":"showcase","start":5,"end":8,"text":"This phone is slim."}
`
	if err := os.WriteFile(transcript, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := filepath.Abs("../../demo/model")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "run.yaml")
	yaml := "model: {bundle: " + bundle + "}\nsources:\n  transcripts: {file: " + transcript + "}\nsinks:\n  stdout: {format: jsonl}\n" +
		"observability: {listen: disabled}\n" // not the default port, which parallel tests share
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("run", "--config", config)
	if code == 0 {
		t.Fatalf("run exited 0 with every line rejected; stderr:\n%s", stderr)
	}
	for _, want := range []string{"rejected 2", "no event, and input was rejected", "2 input items rejected", "t.jsonl:1", "stream_id"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want no event", stdout)
	}
}

// TestRunPrintsOperationsAddress runs a transcript file with the operations
// port on a free loopback port: run prints the port's address at start-up,
// as the README's Operations section says, and prints none when
// observability.listen is "disabled".
func TestRunPrintsOperationsAddress(t *testing.T) {
	dir := t.TempDir()
	transcript := filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(transcript, []byte(`{"stream_id":"a","start":0,"end":1.5,"text":"thank you, that was great","final":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := filepath.Abs("../../demo/model")
	if err != nil {
		t.Fatal(err)
	}
	for listen, want := range map[string]bool{`"127.0.0.1:0"`: true, "disabled": false} {
		config := filepath.Join(dir, "run.yaml")
		yaml := "model: {bundle: " + bundle + "}\nsources:\n  transcripts: {file: " + transcript + "}\nsinks:\n  stdout: {format: jsonl}\n" +
			"observability: {listen: " + listen + "}\n"
		if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI("run", "--config", config)
		if code != 0 || !strings.Contains(stdout, `"event_id":"a/utt/0"`) {
			t.Fatalf("listen %s: run exited %d, stdout %q; stderr:\n%s", listen, code, stdout, stderr)
		}
		if got := strings.Contains(stderr, "operations: http://127.0.0.1:"); got != want {
			t.Errorf("listen %s: operations address printed %v, want %v; stderr:\n%s", listen, got, want, stderr)
		}
	}
}
