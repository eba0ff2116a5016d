package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/recipe"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/model"
)

// kafkaWait bounds each wait on the in-process broker; a healthy loopback
// round trip takes milliseconds and a group join about a second.
const kafkaWait = 45 * time.Second

// The topics of the Kafka tests.
const (
	inTopic   = "calls.transcripts"
	outTopic  = "calls.sentiment"
	deadTopic = "calls.dead"
)

// newKafka starts an in-process broker with the three topics, each of
// partitions partitions, and a group minimum session timeout of 1 s so that
// a killed member's partitions move within seconds. Extra options (a data
// dir, a fixed port) come last.
func newKafka(t *testing.T, partitions int32, extra ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts := append([]kfake.Opt{kfake.Ports(0), kfake.SeedTopics(partitions, inTopic, outTopic, deadTopic),
		kfake.GroupMinSessionTimeout(time.Second)}, extra...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// textBundle saves a small random CMC bundle that fits the default English
// text encoder with 24 token rows, and returns its directory.
func textBundle(t *testing.T) string {
	t.Helper()
	return saveBundle(t, model.PerModality{Audio: 34, Vision: vision.Dims}, 7)
}

// saveBundle saves a random CMC bundle (weights from seed) with dims, a
// zero dims.text meaning the default English text encoder's, and lengths
// 24, 80 and 30; it returns the bundle's directory.
func saveBundle(t *testing.T, dims model.PerModality, seed uint64) string {
	t.Helper()
	if dims.Text == 0 {
		enc, _, err := recipe.NewLexiconEncoder(testNative.AssetsDir, "en", 24)
		if err != nil {
			t.Fatal(err)
		}
		dims.Text = enc.Dim()
	}
	m, err := model.New(model.Config{Name: "test", Convention: "mosi", Layers: 1, Heads: 4, Dims: dims,
		Lengths: model.PerModality{Text: 24, Audio: 80, Vision: 30}})
	if err != nil {
		t.Fatal(err)
	}
	m.Weights.Randomize(seed)
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// kafkaConfig is the YAML of a text-only pipeline from inTopic to outTopic
// with the dead-letter topic, fast group timings and extra appended.
func kafkaConfig(bundle, addr, extra string) string {
	return fmt.Sprintf(`
model: {bundle: %s}
text: {max_len: 24}
sources:
  transcripts:
    kafka: {brokers: [%q], topic: %s, group: cmc-test, session_timeout: 3s, heartbeat_interval: 200ms, rebalance_timeout: 3s, event_seq: start_ms}
window: {policy: utterance, max_wait: 200ms}
sinks:
  kafka: {brokers: [%q], topic: %s, batch_timeout: 5ms}
  dead_letter: {brokers: [%q], topic: %s}
pipeline: {shutdown_timeout: 10s}
observability: {listen: "127.0.0.1:0"}
%s%s`, bundle, addr, inTopic, addr, outTopic, addr, deadTopic, testAssetsYAML, extra)
}

// record is one message to produce, keyed by stream id.
type record struct{ key, value string }

// seg returns the JSON of a final segment of stream in seconds from the
// stream's start.
func seg(stream string, start, end float64, text string) record {
	return record{stream, fmt.Sprintf(`{"stream_id":%q,"speaker":"customer","start":%g,"end":%g,"text":%q,"final":true}`, stream, start, end, text)}
}

// produce writes the records to topic, partitioned by key like the event
// sink (murmur2), and waits for the broker's acknowledgement.
func produce(t *testing.T, addr, topic string, recs ...record) {
	t.Helper()
	// Not the default transport, which outlives a restarted broker.
	produceWith(t, &kafkago.Transport{}, addr, topic, recs...)
}

// produceWith is produce over the transport tr, which it closes.
func produceWith(t *testing.T, tr *kafkago.Transport, addr, topic string, recs ...record) {
	t.Helper()
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Transport: tr, Balancer: &kafkago.Murmur2Balancer{Consistent: true},
		BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll, BatchBytes: 2 << 20}
	defer w.Close()
	msgs := make([]kafkago.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafkago.Message{Key: []byte(r.key), Value: []byte(r.value)}
	}
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// readTopic returns every message of topic, partition by partition.
func readTopic(t *testing.T, addr, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		c, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, last, err := c.ReadOffsets()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Seek(first, kafkago.SeekAbsolute); err != nil {
			t.Fatal(err)
		}
		for off := first; off < last; off++ {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := c.ReadMessage(4 << 20)
			if err != nil {
				t.Fatalf("read %s/%d@%d: %v", topic, p.ID, off, err)
			}
			out = append(out, m)
		}
		c.Close()
	}
	return out
}

// events decodes the events of outTopic and checks each one.
func events(t *testing.T, addr string) []event.Event {
	t.Helper()
	var evs []event.Event
	for _, m := range readTopic(t, addr, outTopic) {
		var e event.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		if err := e.Validate(); err != nil {
			t.Error(err)
		}
		evs = append(evs, e)
	}
	return evs
}

// deadLetters decodes the messages of the dead-letter topic.
func deadLetters(t *testing.T, addr string) []deadLetterRecord {
	t.Helper()
	var out []deadLetterRecord
	for _, m := range readTopic(t, addr, deadTopic) {
		var r deadLetterRecord
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatalf("dead letter %s: %v", m.Value, err)
		}
		out = append(out, r)
	}
	return out
}

// committedOffsets returns the group's committed offset of each partition of
// inTopic; 0, the start of the test's fresh topics, for none.
func committedOffsets(t *testing.T, addr string, partitions int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	// A transport of its own: the shared default one keeps connections
	// to a broker that a test restarted.
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(addr), Transport: tr}
	resp, err := c.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: "cmc-test", Topics: map[string][]int{inTopic: ids}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, partitions)
	for _, p := range resp.Topics[inTopic] {
		if p.Error == nil && p.CommittedOffset > 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// endOffsets returns the end offset of each partition of topic.
func endOffsets(t *testing.T, addr, topic string, partitions int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	out := make([]int64, partitions)
	for p := range out {
		c, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		out[p], err = c.ReadLastOffset()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// poll calls cond every 50 ms until it returns nil or kafkaWait passes,
// then fails the test with cond's last error.
func poll(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(kafkaWait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errCount is the error poll's conditions return for a count not yet
// reached.
func errCount(what string, got, want int) error {
	if got >= want {
		return nil
	}
	return fmt.Errorf("%d %s, want %d", got, what, want)
}

// containsAll reports an error unless s contains every one of subs.
func containsAll(s string, subs ...string) error {
	var errs []error
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			errs = append(errs, fmt.Errorf("%q lacks %q", s, sub))
		}
	}
	return errors.Join(errs...)
}

// testLogger logs every level as text to w.
func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// distinct returns the number of distinct event ids in evs.
func distinct(evs []event.Event) int {
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.EventID] = true
	}
	return len(ids)
}

// startApp builds cfg with opts, logging to the returned log (printed if
// the test fails), and runs it in the background. The returned stop cancels
// the run and returns Run's result; it may be called more than once.
func startApp(t *testing.T, cfg *Config, opts Options) (app *App, stop func() error, log *syncWriter) {
	t.Helper()
	log = &syncWriter{w: &bytes.Buffer{}}
	opts.Logger = testLogger(log)
	if cfg.Assets.Dir == "" {
		cfg.Assets.Dir = testNative.AssetsDir // as the command resolves it
	}
	if cfg.Observability.Listen == "" {
		// Never the default port, which parallel tests would share.
		cfg.Observability.Listen = "127.0.0.1:0"
	}
	app, err := Build(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			t.Log(log.String())
		}
	})
	return app, stop, log
}

// audioChunk returns the JSON of an audio chunk of stream starting at start
// seconds, with samples already encoded in base64.
func audioChunk(stream string, start float64, rate int, encoding, samples string) record {
	return record{stream, fmt.Sprintf(`{"stream_id":%q,"start":%g,"sample_rate":%d,"encoding":%q,"samples":%q}`, stream, start, rate, encoding, samples)}
}

// f32le encodes samples as little-endian float32 in base64.
func f32le(samples []float32) string {
	b := make([]byte, 4*len(samples))
	for i, v := range samples {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(b)
}
