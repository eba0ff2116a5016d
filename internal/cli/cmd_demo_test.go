package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/browsertest"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

var screenshot = flag.String("screenshot", "", "write the dashboard screenshot of TestDemo to this PNG file")

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs "cmc-stream demo --for 32s --json" from the repository
// (the bundled clip, model and transcript, the embedded broker), loads the
// dashboard in headless Chromium while it plays, and checks that every
// utterance of the clip yields a valid cmc.sentiment.v1 event.
func TestDemo(t *testing.T) {
	utts, err := readDemoTranscript("../../" + demoTranscript)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	t.Chdir("../..")
	go func() {
		done <- Main(ctx, []string{"demo", "--for", "32s", "--json", "--listen", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()

	// The dashboard address is printed first; events follow within seconds.
	addrRE := regexp.MustCompile(`dashboard: (http://127\.0\.0\.1:\d+/)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no dashboard address; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := browsertest.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.Open(ctx, url, 1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the page has rendered at least two events of the stream
	// (six for the README's screenshot).
	want := 2
	if *screenshot != "" {
		want = 6
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var n int
		if err := page.Eval(ctx, `Number((document.getElementById("count-messages") || {textContent: "0"}).textContent)`, &n); err != nil {
			t.Fatal(err)
		}
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard showed %d events after 30 s; stderr:\n%s", n, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var label, transcript string
	page.Eval(ctx, `document.getElementById("fused-label").textContent`, &label)
	page.Eval(ctx, `document.getElementById("transcript").textContent`, &transcript)
	if !event.Label(strings.TrimSpace(label)).Valid() || len(strings.TrimSpace(transcript)) < 5 {
		t.Errorf("dashboard shows label %q, transcript %q", label, transcript)
	}
	shot, err := page.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() != 1280 {
		t.Fatalf("screenshot: %v", err)
	}
	if *screenshot != "" {
		os.WriteFile(*screenshot, shot, 0o644)
	}
	if ex := page.Exceptions(); len(ex) > 0 {
		t.Errorf("page exceptions: %v", ex)
	}

	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d; stderr:\n%s", code, stderr.String())
	}
	// Without --ops-listen the demo serves no operations port (README,
	// Operations).
	if strings.Contains(stderr.String(), "operations: http://") {
		t.Errorf("demo without --ops-listen opened an operations port; stderr:\n%s", stderr.String())
	}
	// One event per utterance: its transcript is the utterance's text, and
	// its id is the segment's start in milliseconds (event_seq start_ms).
	seen := map[string]string{}
	conflicts := map[string]bool{} // event ids of the windows with a conflict
	var alerts []event.Alert
	var sums []event.CallSummary
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// Every real record against its JSON Schema file.
		if err := schematest.ValidateJSON(sc.Bytes()); err != nil {
			t.Error(err)
		}
		var head struct{ Schema string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		switch head.Schema {
		case event.AlertSchema:
			var a event.Alert
			json.Unmarshal(sc.Bytes(), &a)
			alerts = append(alerts, a)
			continue
		case event.CallSummarySchema:
			var cs event.CallSummary
			json.Unmarshal(sc.Bytes(), &cs)
			sums = append(sums, cs)
			continue
		}
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		if err := e.Validate(); err != nil {
			t.Error(err)
		}
		seen[e.Transcript] = e.EventID
		if e.Consensus.Conflict {
			conflicts[e.EventID] = true
		}
	}
	// The rule modalities-disagree of configs/demo.yaml fires on the
	// conflicting utterances, each alert naming a window with a conflict;
	// the call ends with its summary.
	fired := 0
	for _, a := range alerts {
		if a.Rule == "modalities-disagree" {
			fired++
			if len(a.EventIDs) == 0 || !conflicts[a.EventIDs[0]] {
				t.Errorf("alert %+v names no window with a conflict (%v)", a, conflicts)
			}
		}
	}
	if fired == 0 || len(conflicts) == 0 {
		t.Errorf("modalities-disagree fired %d times on %d conflicting windows; alerts %+v", fired, len(conflicts), alerts)
	}
	if len(sums) != 1 || sums[0].StreamID != demoStream || sums[0].Windows != len(seen) {
		t.Errorf("summaries %+v, want one of the %d windows", sums, len(seen))
	}
	for _, u := range utts {
		id, ok := seen[u.Text]
		if !ok {
			t.Errorf("no event for utterance %q", u.Text)
			continue
		}
		if want := fmt.Sprintf("%s/utt/%d", demoStream, int64(math.Round(u.Start*1000))); id != want {
			t.Errorf("utterance %q: event id %q, want %q", u.Text, id, want)
		}
	}
	if !strings.Contains(stderr.String(), "demo: windows") {
		t.Errorf("no summary line; stderr:\n%s", stderr.String())
	}
}
