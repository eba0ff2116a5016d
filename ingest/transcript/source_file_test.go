package transcript_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/transcript"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// result is one Read.
type result struct {
	seg event.Segment
	err error
}

func readAll(t *testing.T, cfg transcript.FileConfig) []result {
	t.Helper()
	s, err := transcript.NewFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	var out []result
	for {
		seg, ack, err := s.Read(t.Context())
		if errors.Is(err, pipeline.ErrEndOfInput) {
			return out
		}
		if ack != nil {
			t.Fatal("a file segment has an AckFunc")
		}
		out = append(out, result{seg, err})
	}
}

func TestFile(t *testing.T) {
	got := readAll(t, transcript.FileConfig{Path: "testdata/call-42.jsonl"})
	if len(got) != 5 {
		t.Fatalf("%d results, want 5: %v", len(got), got)
	}
	if got[0].err != nil || got[0].seg.Speaker != "agent" || !got[0].seg.Start.IsWall() {
		t.Errorf("line 1: %+v", got[0])
	}
	if got[1].err != nil || got[1].seg.Text != "sure, that's just great" {
		t.Errorf("line 2: %+v", got[1])
	}
	for i, want := range []struct {
		line  int
		field string
	}{{4, "end"}, {5, ""}} {
		var le *transcript.LineError
		var fe *event.FieldError
		err := got[2+i].err
		if !errors.As(err, &le) || le.Line != want.line || !errors.As(err, &fe) || fe.Field != want.field {
			t.Errorf("result %d: %v, want line %d field %q", 2+i, err, want.line, want.field)
		}
		if !strings.HasPrefix(err.Error(), fmt.Sprintf("transcript: testdata/call-42.jsonl:%d: ", want.line)) {
			t.Errorf("error %q", err)
		}
	}
	last := got[4]
	if last.err != nil || last.seg.StreamID != "cam-1" || last.seg.Final || last.seg.End.Offset() != 3250*time.Millisecond {
		t.Errorf("line 6: %+v", last)
	}
}

func TestFileLongLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "long.jsonl")
	seg := func(text string) string {
		return `{"stream_id":"s","start":0,"end":1,"text":"` + text + `","final":true}`
	}
	// A line just within the text limit, one far beyond the line limit,
	// and a last line without a newline.
	content := seg(strings.Repeat("a", 100)) + "\n" + seg(strings.Repeat("b", 2000)) + "\r\n" + seg("c")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, transcript.FileConfig{Path: path, MaxTextBytes: 100})
	if len(got) != 3 {
		t.Fatalf("%d results: %v", len(got), got)
	}
	if got[0].err != nil || len(got[0].seg.Text) != 100 {
		t.Errorf("line 1: %v", got[0].err)
	}
	var le *transcript.LineError
	if !errors.As(got[1].err, &le) || le.Line != 2 || !errors.Is(got[1].err, event.ErrTooLarge) {
		t.Errorf("line 2: %v", got[1].err)
	}
	if got[2].err != nil || got[2].seg.Text != "c" {
		t.Errorf("line 3: %+v", got[2])
	}
}

func TestFileErrors(t *testing.T) {
	if _, err := transcript.NewFile(transcript.FileConfig{}); err == nil {
		t.Error("NewFile without a path succeeded")
	}
	s, err := transcript.NewFile(transcript.FileConfig{Path: filepath.Join(t.TempDir(), "missing.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(t.Context()); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Errorf("Read before Connect = %v", err)
	}
	if err := s.Connect(t.Context()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Connect of a missing file = %v", err)
	}
	ok, err := transcript.NewFile(transcript.FileConfig{Path: "testdata/call-42.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ok.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer ok.Close(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := ok.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context = %v", err)
	}
}

func ExampleFile() {
	src, err := transcript.NewFile(transcript.FileConfig{Path: "testdata/call-42.jsonl"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := src.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close(ctx)
	for {
		seg, _, err := src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfInput) {
			break
		}
		if err != nil {
			fmt.Println("skipped:", err)
			continue
		}
		fmt.Printf("%s %s: %s\n", seg.StreamID, seg.Speaker, seg.Text)
	}
	// Output:
	// call-42 agent: thanks for calling, how can I help?
	// call-42 customer: sure, that's just great
	// skipped: transcript: testdata/call-42.jsonl:4: event: segment: field end: out of range: end before start
	// skipped: transcript: testdata/call-42.jsonl:5: event: segment: malformed JSON: unexpected end of JSON input
	// cam-1 : 好的，谢谢
}
