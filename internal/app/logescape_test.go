package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/ingest/kafka"
)

// TestLogEncodesControls rejects a message whose key and value carry a
// terminal escape and a forged log line: the log keeps one line per record
// and no control character.
func TestLogEncodesControls(t *testing.T) {
	var buf bytes.Buffer
	a := &App{stats: &Stats{}}
	reject := a.rejectMessage(nil, testLogger(&buf))
	m := &kafka.MalformedError{Topic: "t", Key: []byte("a\x1b[2J\nlevel=ERROR msg=forged"), Value: []byte("{}"), Err: errors.New("stream_id: invalid stream id")}
	if err := reject(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "\n") != 1 || strings.ContainsRune(out, 0x1b) {
		t.Errorf("log %q: want one line without control characters", out)
	}
}
