package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/sinktest"
)

const (
	eventsTopic = "cmc.events"
	partitions  = 3
)

// newCluster starts an in-process Kafka-protocol broker on loopback.
func newCluster(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.Ports(0), kfake.SeedTopics(partitions, eventsTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

type record struct {
	msg kafka.Message
	err error
}

// consumeAll reads every partition of the topic from the start and merges
// the messages into one channel, stopping at the test's cleanup.
func consumeAll(t *testing.T, addr string) <-chan record {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan record)
	var wg sync.WaitGroup
	for p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{addr}, Topic: eventsTopic, Partition: p,
			MaxWait: 10 * time.Millisecond,
		})
		wg.Go(func() {
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				select {
				case out <- record{m, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return out
}

func kafkaReader(t *testing.T, addr string) sinktest.Reader {
	records := consumeAll(t, addr)
	return func(ctx context.Context, n int) ([]event.Event, error) {
		var evs []event.Event
		for len(evs) < n {
			select {
			case r := <-records:
				if r.err != nil {
					return nil, r.err
				}
				var e event.Event
				if err := json.Unmarshal(r.msg.Value, &e); err != nil {
					return nil, err
				}
				if string(r.msg.Key) != e.StreamID {
					return nil, errors.New("message key is not the stream id")
				}
				evs = append(evs, e)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return evs, nil
	}
}

func TestKafkaConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Reader) {
		addr := newCluster(t)
		s, err := sink.NewKafka(sink.KafkaConfig{Brokers: []string{addr}, Topic: eventsTopic})
		if err != nil {
			t.Fatal(err)
		}
		return s, kafkaReader(t, addr)
	})
}

func TestKafkaMessages(t *testing.T) {
	addr := newCluster(t)
	s, err := sink.NewKafka(sink.KafkaConfig{Brokers: []string{addr}, Topic: eventsTopic, BatchTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	records := consumeAll(t, addr)
	// Two streams: their events land on the partition their key hashes
	// to, every time.
	evs := sinktest.Events(6, 2)
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	partOf := map[string]int{}
	deadline := time.After(sinktest.Timeout)
	for range evs {
		select {
		case r := <-records:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.msg.Headers) != 1 || r.msg.Headers[0].Key != sink.SchemaHeader || string(r.msg.Headers[0].Value) != event.Schema {
				t.Errorf("headers %v", r.msg.Headers)
			}
			k := string(r.msg.Key)
			if p, ok := partOf[k]; ok && p != r.msg.Partition {
				t.Errorf("stream %s on partitions %d and %d", k, p, r.msg.Partition)
			}
			partOf[k] = r.msg.Partition
		case <-deadline:
			t.Fatal("timed out")
		}
	}
}

func TestKafkaWriteErrors(t *testing.T) {
	addr := newCluster(t)
	s, err := sink.NewKafka(sink.KafkaConfig{Brokers: []string{addr}, Topic: eventsTopic})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	records := consumeAll(t, addr)
	// The middle event is larger than Kafka accepts: it fails alone, and
	// Write says which one.
	evs := sinktest.Events(3, 1)
	evs[1].Transcript = strings.Repeat("x", 2<<20)
	err = s.Write(t.Context(), evs)
	var be *pipeline.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *pipeline.BatchError", err)
	}
	if werrs := be.Errs; len(werrs) != 3 || werrs[0] != nil || !errors.Is(werrs[1], sink.ErrEventTooLarge) || werrs[2] != nil {
		t.Fatalf("per-event errors %v, want only the second", werrs)
	}
	for _, want := range []string{evs[0].EventID, evs[2].EventID} {
		select {
		case r := <-records:
			var e event.Event
			if r.err != nil || json.Unmarshal(r.msg.Value, &e) != nil || e.EventID != want {
				t.Fatalf("read %s (%v), want %s", r.msg.Value, r.err, want)
			}
		case <-time.After(sinktest.Timeout):
			t.Fatal("timed out")
		}
	}

	// A topic that does not exist fails the whole batch.
	missing, err := sink.NewKafka(sink.KafkaConfig{Brokers: []string{addr}, Topic: "missing", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer missing.Close(context.Background())
	if err := missing.Write(t.Context(), evs[:1]); err == nil {
		t.Fatal("Write to a missing topic succeeded")
	}
}

func TestKafkaConfig(t *testing.T) {
	for _, cfg := range []sink.KafkaConfig{
		{Topic: "t"},
		{Brokers: []string{"127.0.0.1:9092"}},
		{Brokers: []string{"127.0.0.1:9092"}, Topic: "t", BatchSize: -1},
		{Brokers: []string{"127.0.0.1:9092"}, Topic: "t", BackoffMin: time.Second, BackoffMax: time.Millisecond},
	} {
		if _, err := sink.NewKafka(cfg); err == nil {
			t.Errorf("NewKafka(%+v) accepted", cfg)
		}
	}
}
