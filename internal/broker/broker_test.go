package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/internal/broker"
)

// testTimeout bounds every Kafka round trip of these tests; a healthy
// loopback broker answers in milliseconds.
const testTimeout = 20 * time.Second

func start(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func produce(t *testing.T, addr, topic string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		BatchTimeout: time.Millisecond,
		RequiredAcks: kafka.RequireAll,
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Errorf("writer Close: %v", err)
		}
	}()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Key: []byte("stream"), Value: []byte(v)}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("WriteMessages: %v", err)
	}
}

func consume(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, MaxWait: 10 * time.Millisecond})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("reader Close: %v", err)
		}
	}()
	var got []string
	for len(got) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("ReadMessage after %d messages: %v", len(got), err)
		}
		got = append(got, string(m.Value))
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	b := start(t, broker.Config{Addr: "127.0.0.1:0", Topics: []string{"transcripts"}})
	if host, _, err := net.SplitHostPort(b.Addr()); err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr = %q", b.Addr())
	}
	want := []string{"a", "b", "c"}
	produce(t, b.Addr(), "transcripts", want...)
	if got := consume(t, b.Addr(), "transcripts", 3); strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("consumed %v, want %v", got, want)
	}
}

func TestPartitions(t *testing.T) {
	b := start(t, broker.Config{Addr: "localhost:0", Topics: []string{"events"}, Partitions: 4})
	conn, err := kafka.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("events")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 4 {
		t.Fatalf("%d partitions, want 4", len(parts))
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := broker.Config{Addr: "127.0.0.1:0", DataDir: dir, Topics: []string{"transcripts"}}
	b, err := broker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), "transcripts", "kept-1", "kept-2")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Topics = append(cfg.Topics, "events")
	b2 := start(t, cfg)
	if got := consume(t, b2.Addr(), "transcripts", 2); strings.Join(got, ",") != "kept-1,kept-2" {
		t.Fatalf("after restart consumed %v", got)
	}
	// A topic added to the configuration is created on the restart too.
	produce(t, b2.Addr(), "events", "new")
	if got := consume(t, b2.Addr(), "events", 1); got[0] != "new" {
		t.Fatalf("consumed %v", got)
	}
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	// Closing races with the cancellation on purpose: both must be safe.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", b.Addr(), testTimeout); err == nil {
		c.Close()
		t.Fatal("broker still accepts connections after Close")
	}
}

func TestRejects(t *testing.T) {
	for _, cfg := range []broker.Config{
		{Addr: "0.0.0.0:9092"},
		{Addr: ":9092"},
		{Addr: "192.168.1.10:9092"},
		{Addr: "example.com:9092"},
		{Addr: "127.0.0.1"},
		{Addr: "127.0.0.1:99999"},
		{Addr: "127.0.0.1:0", Partitions: -1},
		{Addr: "127.0.0.1:0", Topics: []string{""}},
	} {
		if _, err := broker.Start(t.Context(), cfg); err == nil || !strings.HasPrefix(err.Error(), "broker: ") {
			t.Errorf("Start(%+v) = %v, want a broker error", cfg, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context = %v", err)
	}
}

func Example() {
	b, err := broker.Start(context.Background(), broker.Config{Addr: "127.0.0.1:0", Topics: []string{"transcripts"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	host, _, _ := net.SplitHostPort(b.Addr())
	fmt.Println(host)
	// Output: 127.0.0.1
}
