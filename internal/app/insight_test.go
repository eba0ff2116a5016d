package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

// hookReceiver is a webhook endpoint that checks each signature with its
// own HMAC and keeps the records it accepted.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	recs   []string // "schema id"
	bodies [][]byte
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, h.secret)
	m.Write(body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get("X-CMC-Signature")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.recs = append(h.recs, r.Header.Get("X-CMC-Schema")+" "+r.Header.Get("X-CMC-ID"))
	h.bodies = append(h.bodies, body)
}

func (h *hookReceiver) snapshot() ([]string, [][]byte, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.recs...), append([][]byte(nil), h.bodies...), h.bad
}

// TestInsightEndToEnd runs a Kafka pipeline with an alert rule, the
// summary and alert topics and a webhook: a call that ends with an
// end-of-call marker gets its summary while the pipeline runs, the other
// when it stops; every alert and summary reaches the topics and, signed,
// the webhook; each record validates against its JSON Schema.
func TestInsightEndToEnd(t *testing.T) {
	const sumTopic, alertTopic = "calls.summaries", "calls.alerts"
	c := newKafka(t, 2, kfake.SeedTopics(2, sumTopic, alertTopic))
	addr := c.ListenAddrs()[0]
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := "a-webhook-secret-of-some-length"
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	rcv := &hookReceiver{secret: []byte(secret)}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	// The rule holds for any window whose score is below 1 (the test's
	// random model never gives exactly 1): it fires once per call and
	// speaker, on the first window, and stays firing.
	cfg, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, `
insight:
  rules: [{name: any-window, speaker: customer, when: "mean score over the last 1 windows below 1"}]
`)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks.Kafka.SummariesTopic, cfg.Sinks.Kafka.AlertsTopic = sumTopic, alertTopic
	cfg.Sinks.Webhook = &WebhookSink{URL: srv.URL + "/hook", SecretFile: secretFile}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, stop, _ := startApp(t, cfg, Options{})
	produce(t, addr, inTopic,
		seg("call-a", 0, 1.5, "this is terrible"), seg("call-b", 0, 1.2, "fine thanks"),
		seg("call-a", 2, 3.5, "I want a refund"), record{"call-a", `{"stream_id":"call-a","end_of_call":true}`})

	summaries := func() []event.CallSummary {
		var out []event.CallSummary
		for _, m := range readTopic(t, addr, sumTopic) {
			if err := schematest.ValidateJSON(m.Value); err != nil {
				t.Error(err)
			}
			var s event.CallSummary
			json.Unmarshal(m.Value, &s)
			if string(m.Key) != s.StreamID {
				t.Errorf("summary of %s keyed %q", s.StreamID, m.Key)
			}
			out = append(out, s)
		}
		return out
	}
	poll(t, "the summary of call-a after its end-of-call marker", func() error { return errCount("summaries", len(summaries()), 1) })
	s := summaries()
	if len(s) != 1 || s[0].StreamID != "call-a" || s[0].Reason != event.EndOfCall || s[0].Windows != 2 || s[0].Speakers[0].Speaker != "customer" {
		t.Fatalf("summaries while running: %+v", s)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s = summaries() // partition by partition: sort by stream
	slices.SortFunc(s, func(a, b event.CallSummary) int { return strings.Compare(a.StreamID, b.StreamID) })
	if len(s) != 2 || s[0].Reason != event.EndOfCall || s[1].StreamID != "call-b" || s[1].Reason != event.EndOfInput || s[1].Windows != 1 {
		t.Fatalf("summaries after the stop: %+v", s)
	}
	alerts := map[string]event.Alert{}
	for _, m := range readTopic(t, addr, alertTopic) {
		if err := schematest.ValidateJSON(m.Value); err != nil {
			t.Error(err)
		}
		var a event.Alert
		json.Unmarshal(m.Value, &a)
		alerts[a.StreamID] = a
	}
	if len(alerts) != 2 || alerts["call-a"].Rule != "any-window" || alerts["call-a"].EventIDs[0] != "call-a/utt/0" || alerts["call-b"].Speaker != "customer" {
		t.Fatalf("alerts %+v, want one per call on its first window", alerts)
	}
	recs, bodies, bad := rcv.snapshot()
	want := []string{
		"cmc.alert.v1 " + alerts["call-a"].AlertID, "cmc.alert.v1 " + alerts["call-b"].AlertID,
		"cmc.call_summary.v1 " + s[0].SummaryID, "cmc.call_summary.v1 " + s[1].SummaryID}
	for _, w := range want {
		if !strings.Contains(strings.Join(recs, "\n"), w) {
			t.Errorf("the webhook did not get %s; got %v", w, recs)
		}
	}
	if len(recs) != len(want) || bad != 0 {
		t.Errorf("webhook: %d records, %d badly signed; want %d signed", len(recs), bad, len(want))
	}
	for _, b := range bodies {
		if err := schematest.ValidateJSON(b); err != nil {
			t.Error(err)
		}
	}
}
