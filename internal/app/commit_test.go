package app

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestFailedEventsNotCommitted points the event sink at a topic that does
// not exist, with no dead-letter topic or with its broker down: each event
// fails after retry_timeout with its failure on record nowhere, so no offset
// is committed, /readyz says which partition stopped and why, and a restart
// with a working event sink delivers every segment again and commits them.
func TestFailedEventsNotCommitted(t *testing.T) {
	tests := []struct {
		name       string
		deadLetter func(deadPort int) string // the sinks.dead_letter line, or ""
	}{
		{name: "no dead letter", deadLetter: func(int) string { return "" }},
		{name: "dead-letter broker down", deadLetter: func(port int) string {
			return fmt.Sprintf("  dead_letter: {brokers: [\"127.0.0.1:%d\"], topic: %s, retry_timeout: 300ms}\n", port, deadTopic)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKafka(t, 2)
			addr := k.ListenAddrs()[0]
			// Streams a and b share partition 0 (murmur2).
			produce(t, addr, inTopic, seg("a", 1, 2, "fine"), seg("b", 1, 2, "fine"), seg("a", 3, 4, "fine"))
			bundle := textBundle(t)
			config := func(events, deadLetter string) *Config {
				t.Helper()
				yaml := kafkaConfig(bundle, addr, "")
				yaml = strings.Replace(yaml, "topic: "+outTopic+", batch_timeout: 5ms", "topic: "+events+", batch_timeout: 5ms, retry_timeout: 300ms", 1)
				yaml = strings.Replace(yaml, fmt.Sprintf("  dead_letter: {brokers: [%q], topic: %s}\n", addr, deadTopic), deadLetter, 1)
				cfg, err := DecodeConfig([]byte(yaml))
				if err != nil {
					t.Fatal(err)
				}
				if (cfg.Sinks.DeadLetter != nil) != (deadLetter != "") {
					t.Fatalf("dead letter %+v in\n%s", cfg.Sinks.DeadLetter, yaml)
				}
				return cfg
			}

			app, stop, _ := startApp(t, config("calls.missing", tc.deadLetter(freePort(t))), Options{})
			web := app.OpsAddr()
			poll(t, "failed events", func() error { return errCount("failed", int(app.Summary().Failed), 3) })
			poll(t, "/readyz names the stopped partitions", func() error {
				code, body, err := readyz(web)
				if err != nil {
					return err
				}
				if code != http.StatusServiceUnavailable {
					return fmt.Errorf("/readyz %d %s, want 503", code, body)
				}
				return containsAll(body, inTopic+"/0 stopped at offset 0", "calls.missing")
			})
			if err := stop(); err != nil {
				t.Logf("run with the failing sink: %v", err)
			}
			if c := committedOffsets(t, addr, 2); !slices.Equal(c, []int64{0, 0}) {
				t.Fatalf("committed %v after 3 failed events with no dead letter written, want [0 0]", c)
			}
			if d := deadLetters(t, addr); len(d) != 0 {
				t.Fatalf("%d dead letters on the test's broker, want none", len(d))
			}

			// The restart delivers the three segments again.
			again, stop, _ := startApp(t, config(outTopic, ""), Options{})
			poll(t, "events after the restart", func() error { return errCount("events", distinct(events(t, addr)), 3) })
			poll(t, "every offset committed", func() error {
				if c, e := committedOffsets(t, addr, 2), endOffsets(t, addr, inTopic, 2); !slices.Equal(c, e) {
					return fmt.Errorf("committed %v, end %v", c, e)
				}
				return nil
			})
			if err := stop(); err != nil {
				t.Error(err)
			}
			if s := again.Summary(); s.Failed != 0 {
				t.Errorf("summary after the restart %v, want no failure", s)
			}
		})
	}
}

// TestAudioBacklogDoesNotStall feeds, on one partition, 1,100 audio chunks
// of 20 ms of call a before its one final segment, then a segment of call
// b. More chunks than the old bound of 1,000 unacknowledged messages wait
// for a's transcript; b's event and a's (with its audio) still come at once,
// not after the stream's idle timeout (10 minutes here), and nothing is
// dropped.
func TestAudioBacklogDoesNotStall(t *testing.T) {
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	const (
		rate   = 16000
		chunks = 1100
		chunk  = rate / 50 // 20 ms
	)
	samples := make([]float32, chunk)
	for i := range samples {
		samples[i] = float32(0.3 * math.Sin(2*math.Pi*220*float64(i)/rate))
	}
	enc := f32le(samples)
	var recs []record
	for c := range chunks {
		recs = append(recs, audioChunk("call-a", float64(c)/50, rate, "f32le", enc))
		if len(recs) == 200 {
			produce(t, addr, inTopic, recs...)
			recs = recs[:0]
		}
	}
	recs = append(recs, seg("call-a", 20, 22, "thanks for waiting"), seg("call-b", 1, 2, "hello"))
	produce(t, addr, inTopic, recs...)
	yaml := strings.Replace(kafkaConfig(textBundle(t), addr, ""), "window: {policy: utterance, max_wait: 200ms}", "window: {policy: utterance, max_wait: 200ms, idle_timeout: 10m}", 1)
	cfg, err := DecodeConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	poll(t, "events of both calls", func() error { return errCount("events", distinct(events(t, addr)), 2) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range events(t, addr) {
		got[e.EventID] = e.Modalities.Audio.Present
	}
	if audio, ok := got["call-a/utt/20000"]; !ok || !audio {
		t.Errorf("events %v, want call-a/utt/20000 with its audio", got)
	}
	if _, ok := got["call-b/utt/1000"]; !ok {
		t.Errorf("events %v, want call-b/utt/1000", got)
	}
	if s := app.Summary(); s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("summary %v, want no drop or failure", s)
	}
}
