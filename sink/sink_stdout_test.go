package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/sinktest"
)

// lockedBuffer is a bytes.Buffer safe for a concurrent writer and reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the complete lines written so far and removes them.
func (b *lockedBuffer) lines() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]byte
	for {
		line, err := b.buf.ReadBytes('\n')
		if err != nil {
			// An incomplete line stays for later.
			b.buf = *bytes.NewBuffer(line)
			return out
		}
		out = append(out, line)
	}
}

func TestStdoutConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Reader) {
		var buf lockedBuffer
		s, err := sink.NewStdout(&buf, sink.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		// Stdout writes synchronously: what Write accepted is in buf.
		var pending [][]byte
		read := func(_ context.Context, n int) ([]event.Event, error) {
			pending = append(pending, buf.lines()...)
			if len(pending) < n {
				return nil, fmt.Errorf("%d lines written, want %d", len(pending), n)
			}
			evs := make([]event.Event, n)
			for i := range evs {
				if err := json.Unmarshal(pending[i], &evs[i]); err != nil {
					return nil, err
				}
			}
			pending = pending[n:]
			return evs, nil
		}
		return s, read
	})
}

func TestStdoutText(t *testing.T) {
	var buf bytes.Buffer
	s, err := sink.NewStdout(&buf, "")
	if err != nil {
		t.Fatal(err)
	}
	evs := sinktest.Events(2, 2)
	evs[1].Speaker, evs[1].Transcript = "", ""
	evs[1].Window.Kind = event.Sliding
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	want := `stream-0 [customer] utt#0 10:00:00.000-10:00:00.750 neutral (neg 0.27 neu 0.45 pos 0.27) text=positive/0.25 audio=neutral/0.50 vision=absent/0.25 score=+0.00 agree=0.93 conflict "utterance 0"
stream-1 win#0 10:00:00.000-10:00:00.750 neutral (neg 0.37 neu 0.43 pos 0.20) text=positive/0.25 audio=neutral/0.50 vision=absent/0.25 score=-0.16 agree=0.89 conflict
`
	// The scores and agreements are those of a float64 reference
	// computation (Python, H(m) - (H(p) + H(q)) / 2 in bits): 1 - JSD of
	// the text expert softmax(0, 0, 1) and the audio expert, which is the
	// fused distribution here.
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestStdoutErrors(t *testing.T) {
	if _, err := sink.NewStdout(&bytes.Buffer{}, "xml"); err == nil {
		t.Fatal("NewStdout accepted format xml")
	}
	s, err := sink.NewStdout(failWriter{}, sink.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), sinktest.Events(1, 1)); err == nil {
		t.Fatal("Write to a failing writer succeeded")
	}
}

func ExampleStdout() {
	s, err := sink.NewStdout(os.Stdout, sink.Text)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(context.Background())
	if err := s.Write(context.Background(), sinktest.Events(1, 1)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// stream-0 [customer] utt#0 10:00:00.000-10:00:00.750 neutral (neg 0.27 neu 0.45 pos 0.27) text=positive/0.25 audio=neutral/0.50 vision=absent/0.25 score=+0.00 agree=0.93 conflict "utterance 0"
}

// TestStdoutEncodesControls prints events whose stream id, speaker and
// transcript carry terminal escapes (ESC, CSI as U+009B, DEL, a newline):
// in both formats no control character reaches the output but each line's
// newline, and the JSON lines still decode to the original strings.
func TestStdoutEncodesControls(t *testing.T) {
	evs := sinktest.Events(1, 1)
	evs[0].StreamID = "a\x1b[2Jb"
	evs[0].Speaker = "x\ny"
	evs[0].Transcript = "clear\u009b31m\x7f done"
	for _, format := range []sink.Format{sink.Text, sink.JSONL} {
		var buf bytes.Buffer
		s, err := sink.NewStdout(&buf, format)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for i, r := range out[:len(out)-1] {
			if r < 0x20 || r >= 0x7f && r <= 0x9f {
				t.Errorf("%s: control character %U at byte %d of %q", format, r, i, out)
			}
		}
		if format == sink.JSONL {
			var e event.Event
			if err := json.Unmarshal(buf.Bytes(), &e); err != nil || e.StreamID != evs[0].StreamID || e.Speaker != evs[0].Speaker || e.Transcript != evs[0].Transcript {
				t.Errorf("JSONL decodes to %q %q %q, %v", e.StreamID, e.Speaker, e.Transcript, err)
			}
		}
	}
}
