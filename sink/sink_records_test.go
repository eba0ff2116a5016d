package sink_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/sinktest"
)

var at = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func testAlert(stream string, n int) *event.Alert {
	last := event.ID(stream, event.Utterance, uint64(n))
	return &event.Alert{Schema: event.AlertSchema, AlertID: event.AlertID("neg", last), Rule: "neg",
		Condition: "label negative for 2 consecutive windows", StreamID: stream, Speaker: "customer", At: at,
		EventIDs: []string{event.ID(stream, event.Utterance, uint64(n-1)), last}, Value: 2}
}

func testSummary(stream string) *event.CallSummary {
	trend := -0.25
	return &event.CallSummary{Schema: event.CallSummarySchema, SummaryID: event.SummaryID(stream, at), StreamID: stream,
		Start: at, End: at.Add(time.Minute), Reason: event.EndOfInput, Windows: 2,
		Speakers: []event.SpeakerSummary{{Speaker: "customer", Windows: 2, Share: event.LabelShare{Negative: 1}, MeanScore: -0.5,
			TrendPerMinute: &trend, FirstThirdMeanScore: -0.4, LastThirdMeanScore: -0.6, MostNegativeEventID: stream + "/utt/1",
			MostNegativeScore: -0.6, ConflictWindows: 1, Disagreements: event.Disagreements{Vision: 1}, MostDisagreeingModality: "vision"}}}
}

func TestStdoutPublish(t *testing.T) {
	recs := []event.Record{testAlert("call-1", 1), testSummary("call-1")}
	var buf bytes.Buffer
	s, _ := sink.NewStdout(&buf, sink.Text)
	if err := s.Publish(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	want := "call-1 [customer] ALERT neg: label negative for 2 consecutive windows (value 2) at 10:00:00.000 events call-1/utt/0,call-1/utt/1\n" +
		"call-1 summary (end_of_input): 2 windows 10:00:00.000-10:01:00.000; [customer] 2 windows, neg 1.00 neu 0.00 pos 0.00, mean -0.50, " +
		"trend -0.25/min, first third -0.40, last third -0.60, most negative call-1/utt/1 (-0.60), conflicts 1 (mostly vision)\n"
	if buf.String() != want {
		t.Errorf("text:\n got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	s, _ = sink.NewStdout(&buf, sink.JSONL)
	if err := s.Publish(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if err := schematest.ValidateJSON([]byte(l)); err != nil {
			t.Error(err)
		}
	}
	// A stream id with a control character is quoted on the terminal.
	buf.Reset()
	s, _ = sink.NewStdout(&buf, sink.Text)
	s.Publish(t.Context(), []event.Record{testAlert("evil\x1b[2J", 1)})
	if strings.ContainsRune(buf.String(), 0x1b) {
		t.Errorf("escape sequence reached the terminal: %q", buf.String())
	}
}

// TestHTTPHistory connects a client after events, an alert and a summary
// of several streams were written: it first receives each stream's last
// History records, in the order written, then live records.
func TestHTTPHistory(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{History: 3, HistoryStreams: 2})
	evs := sinktest.Events(12, 3) // streams 0, 1, 2, 4 events each
	slices.SortStableFunc(evs, func(a, b event.Event) int { return strings.Compare(a.StreamID, b.StreamID) })
	if err := h.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(t.Context(), []event.Record{testAlert("stream-2", 3)}); err != nil {
		t.Fatal(err)
	}
	sse := subscribe(t, h)
	// stream-0 was forgotten when stream-2 came (least recently updated,
	// two kept);
	// stream-1 keeps its last 3 events, stream-2 its last 2 and the alert.
	var want []string
	for _, e := range evs[4:] {
		if e.StreamID == "stream-1" && e.Window.Seq >= 1 || e.StreamID == "stream-2" && e.Window.Seq >= 2 {
			want = append(want, "sentiment "+e.EventID)
		}
	}
	want = append(want, "alert "+testAlert("stream-2", 3).AlertID)
	if err := h.Publish(t.Context(), []event.Record{testSummary("stream-2")}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "call_summary "+testSummary("stream-2").SummaryID)
	for i, w := range want {
		select {
		case ev := <-sse:
			if got := ev.typ + " " + ev.id; got != w {
				t.Fatalf("record %d: %q, want %q", i, got, w)
			}
			if err := schematest.ValidateJSON([]byte(ev.data)); err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("record %d (%s) did not arrive", i, w)
		}
	}
}

// receiver is a webhook endpoint: it verifies each signature with its own
// HMAC computation, answers with the statuses queued (then 200), and keeps
// the bodies it accepted.
type receiver struct {
	secret []byte
	mu     sync.Mutex
	status []int
	got    []string
	tries  int
	bad    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	m := hmac.New(sha256.New, r.secret)
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if !hmac.Equal([]byte(req.Header.Get("X-CMC-Signature")), []byte(want)) || req.Header.Get("Content-Type") != "application/json" {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if len(r.status) > 0 {
		code := r.status[0]
		r.status = r.status[1:]
		w.WriteHeader(code)
		return
	}
	r.got = append(r.got, req.Header.Get("X-CMC-Schema")+" "+req.Header.Get("X-CMC-ID"))
}

type deadLetters struct {
	mu      sync.Mutex
	reasons []string
}

func (d *deadLetters) add(_ context.Context, r event.Record, reason error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reasons = append(d.reasons, r.RecordID()+": "+reason.Error())
}

func newWebhook(t *testing.T, rcv *receiver, attempts int) (*sink.Webhook, *deadLetters) {
	t.Helper()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	dl := &deadLetters{}
	w, err := sink.NewWebhook(sink.WebhookConfig{URL: srv.URL, Secret: rcv.secret, MaxAttempts: attempts,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond, DeadLetter: dl.add})
	if err != nil {
		t.Fatal(err)
	}
	return w, dl
}

func TestWebhookRetriesAndSigns(t *testing.T) {
	rcv := &receiver{secret: []byte("0123456789abcdef-secret"), status: []int{503, 500, 429}}
	w, dl := newWebhook(t, rcv, 4)
	if err := w.Publish(t.Context(), []event.Record{testAlert("c", 1), testSummary("c")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"cmc.alert.v1 " + testAlert("c", 1).AlertID, "cmc.call_summary.v1 " + testSummary("c").SummaryID}
	if fmt.Sprint(rcv.got) != fmt.Sprint(want) || rcv.tries != 5 || rcv.bad != 0 || len(dl.reasons) != 0 || w.Failed() != 0 {
		t.Fatalf("got %v after %d tries (%d badly signed), dead letters %v", rcv.got, rcv.tries, rcv.bad, dl.reasons)
	}
	if err := w.Publish(t.Context(), []event.Record{testAlert("c", 2)}); err != sink.ErrClosed {
		t.Errorf("Publish after Close = %v", err)
	}
}

func TestWebhookDeadLetters(t *testing.T) {
	// 400 is final: dead-lettered after one try. 503 four times: after
	// the 3 attempts. The third record goes through.
	rcv := &receiver{secret: []byte("0123456789abcdef-secret"), status: []int{400, 503, 503, 503}}
	w, dl := newWebhook(t, rcv, 3)
	w.Publish(t.Context(), []event.Record{testAlert("c", 1), testAlert("c", 2), testAlert("c", 3)})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(dl.reasons) != 2 || !strings.Contains(dl.reasons[0], "after 1 attempts: permanent: status 400") ||
		!strings.Contains(dl.reasons[1], "after 3 attempts: status 503") || w.Failed() != 2 {
		t.Fatalf("dead letters %q, failed %d", dl.reasons, w.Failed())
	}
	if len(rcv.got) != 1 || !strings.HasSuffix(rcv.got[0], testAlert("c", 3).AlertID) || rcv.tries != 5 {
		t.Fatalf("got %v after %d tries", rcv.got, rcv.tries)
	}
}

func TestWebhookConfig(t *testing.T) {
	for _, c := range []sink.WebhookConfig{
		{URL: "ftp://x", Secret: []byte("0123456789abcdef")},
		{URL: "http://127.0.0.1:1/hook", Secret: []byte("short")},
		{URL: "http://127.0.0.1:1/hook", Secret: []byte("0123456789abcdef"), MaxAttempts: -1},
	} {
		if _, err := sink.NewWebhook(c); err == nil {
			t.Errorf("NewWebhook(%+v) succeeded", c)
		}
	}
	if got, want := sink.Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog")),
		// The HMAC-SHA256 example of the Wikipedia article "HMAC" (Examples).
		"sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
