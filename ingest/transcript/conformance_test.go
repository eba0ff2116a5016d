package transcript_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/sourcetest"
	"github.com/cmc-stream/cmc-stream/ingest/transcript"
)

// TestConformance runs the source conformance suite on a file of three
// segments (offsets, with a blank line), checked against the file's text.
func TestConformance(t *testing.T) {
	lines := `{"stream_id":"call-7","speaker":"agent","start":0.5,"end":2.1,"text":"how can I help?","final":true}

{"stream_id":"call-7","speaker":"customer","start":3.2,"end":6.85,"text":"my order is late","final":true}
{"stream_id":"call-7","speaker":"agent","start":7,"end":8,"text":"sorry to hear that","final":true}
`
	want := []struct {
		speaker, text string
		start         time.Duration
	}{{"agent", "how can I help?", 500 * time.Millisecond}, {"customer", "my order is late", 3200 * time.Millisecond}, {"agent", "sorry to hear that", 7 * time.Second}}
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[event.Segment] {
		path := filepath.Join(t.TempDir(), "call-7.jsonl")
		if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := transcript.NewFile(transcript.FileConfig{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return sourcetest.Fixture[event.Segment]{Source: src, Items: len(want), Check: func(t *testing.T, got []event.Segment) {
			for i, s := range got {
				w := want[i]
				if s.StreamID != "call-7" || s.Speaker != w.speaker || s.Text != w.text || s.Start.Offset() != w.start || !s.Final {
					t.Errorf("segment %d = %+v, want %s %q at %v", i, s, w.speaker, w.text, w.start)
				}
			}
		}}
	})
}
