package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

const (
	topic = "cmc.transcripts"
	group = "cmc-stream"
	// timeout bounds each wait on the in-process broker; a healthy
	// loopback round trip takes milliseconds, a group join a few hundred.
	timeout = 20 * time.Second
)

func newCluster(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(2, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// msg is a message to produce to one partition.
type msg struct {
	partition int
	key       string
	value     string
}

func segment(stream string, i int) string {
	return fmt.Sprintf(`{"stream_id":%q,"start":%d,"end":%d.5,"text":"segment %d","final":true}`, stream, i, i, i)
}

func produce(t *testing.T, addr string, msgs ...msg) {
	t.Helper()
	tr := &kafkago.Transport{} // not the default one, which outlives a restarted broker
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{
		Addr:      kafkago.TCP(addr),
		Topic:     topic,
		Transport: tr,
		// The test places each message on the partition it names.
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int {
			return int(m.Headers[0].Value[0])
		}),
		BatchTimeout: time.Millisecond,
		RequiredAcks: kafkago.RequireAll,
	}
	defer w.Close()
	ms := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		ms[i] = kafkago.Message{
			Key: []byte(m.key), Value: []byte(m.value),
			Headers: []kafkago.Header{{Key: "partition", Value: []byte{byte(m.partition)}}},
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := w.WriteMessages(ctx, ms...); err != nil {
		t.Fatal(err)
	}
}

// newSource connects a group member with fast group timings; maxUnacked
// 0 means the default.
func newSource(t *testing.T, addr string, maxUnacked int) *kafka.Source[event.Segment] {
	t.Helper()
	s, err := kafka.New(kafka.Config{
		Brokers: []string{addr}, Topic: topic, GroupID: group, MaxUnacked: maxUnacked,
		MaxWait: 10 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// committed returns the group's committed offset of each partition (-1 for
// none), asked over the Kafka protocol like any admin client would.
func committed(t *testing.T, addr string) [2]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	// A transport of its own: the shared default one keeps connections
	// to a broker that a test restarted.
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(addr), Transport: tr}
	resp, err := c.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	out := [2]int64{-1, -1}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

type read struct {
	seg event.Segment
	ack pipeline.AckFunc
}

func TestSourceCommitsContiguousAcks(t *testing.T) {
	addr := newCluster(t)
	// Partition 0: a0 a1 <malformed> a2 <key mismatch> a3; partition 1: b0 b1.
	produce(t, addr,
		msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)},
		msg{0, "a", `{"stream_id":"a","start":2,"end":1,"text":"","final":true}`},
		msg{0, "a", segment("a", 2)},
		msg{0, "a", segment("z", 9)},
		msg{0, "a", segment("a", 3)},
		msg{1, "b", segment("b", 0)}, msg{1, "b", segment("b", 1)},
	)
	src := newSource(t, addr, 0)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	got := map[string]read{}
	var malformed []*kafka.MalformedError
	for len(got)+len(malformed) < 8 {
		seg, ack, err := src.Read(ctx)
		var me *kafka.MalformedError
		switch {
		case errors.As(err, &me):
			malformed = append(malformed, me)
			continue
		case err != nil:
			t.Fatalf("Read: %v", err)
		}
		got[seg.Text+"/"+seg.StreamID] = read{seg, ack}
	}
	if len(got) != 6 || len(malformed) != 2 {
		t.Fatalf("%d segments and %d malformed", len(got), len(malformed))
	}
	var fe *event.FieldError
	if m := malformed[0]; m.Partition != 0 || m.Offset != 2 || !errors.As(m, &fe) || fe.Field != "end" {
		t.Errorf("first malformed: %v", m)
	}
	if m := malformed[1]; m.Offset != 4 || !errors.Is(m, kafka.ErrKeyMismatch) || string(m.Value) != segment("z", 9) {
		t.Errorf("second malformed: %v", m)
	}

	ack := func(name string) {
		t.Helper()
		r, ok := got[name]
		if !ok {
			t.Fatalf("no segment %s", name)
		}
		if err := r.ack(ctx, nil); err != nil {
			t.Fatalf("ack %s: %v", name, err)
		}
	}
	check := func(want [2]int64) {
		t.Helper()
		if c := committed(t, addr); c != want {
			t.Fatalf("committed %v, want %v", c, want)
		}
	}
	check([2]int64{-1, -1})
	// Out of order: a later ack commits nothing until the gap closes.
	ack("segment 2/a")
	ack("segment 1/b")
	check([2]int64{-1, -1})
	ack("segment 0/a")
	check([2]int64{1, -1})
	// a1 closes the gap: the commit runs through the malformed messages
	// at 2 and 4, which count as handled once Read returned them.
	ack("segment 1/a")
	check([2]int64{5, -1})
	ack("segment 0/b")
	check([2]int64{5, 2})
	// A second acknowledgement of the same segment does nothing (a failed
	// one is TestSourceFailedAckNotCommitted's).
	ack("segment 0/b")
	ack("segment 3/a")
	check([2]int64{6, 2})
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A new member of the group resumes after the committed offsets.
	produce(t, addr, msg{1, "b", segment("b", 2)})
	next := newSource(t, addr, 0)
	defer next.Close(ctx)
	seg, nextAck, err := next.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Text != "segment 2" || seg.StreamID != "b" {
		t.Fatalf("the next member read %+v, want the new segment b/2", seg)
	}
	if err := nextAck(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check([2]int64{6, 3})
}

func TestSourceBackpressure(t *testing.T) {
	addr := newCluster(t)
	produce(t, addr, msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)})
	s := newSource(t, addr, 1)
	defer s.Close(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	_, ack, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// One segment is unacknowledged: Read blocks until its context ends.
	blocked, stop := context.WithCancel(ctx)
	stop()
	if _, _, err := s.Read(blocked); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read at MaxUnacked = %v, want context.Canceled", err)
	}
	if err := ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if seg, _, err := s.Read(ctx); err != nil || seg.Text != "segment 1" {
		t.Fatalf("Read after the ack = %+v, %v", seg, err)
	}
}

func TestSourceLifecycle(t *testing.T) {
	for _, cfg := range []kafka.Config{
		{Topic: topic, GroupID: group},
		{Brokers: []string{"127.0.0.1:1"}, GroupID: group},
		{Brokers: []string{"127.0.0.1:1"}, Topic: topic},
		{Brokers: []string{"127.0.0.1:1"}, Topic: topic, GroupID: group, MaxUnacked: -1},
		{Brokers: []string{"127.0.0.1:1"}, Topic: topic, GroupID: group, HeartbeatInterval: time.Minute},
	} {
		if _, err := kafka.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	s, err := kafka.New(kafka.Config{Brokers: []string{"127.0.0.1:1"}, Topic: topic, GroupID: group})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(t.Context()); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Errorf("Read before Connect = %v", err)
	}
	if err := s.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(t.Context()); err == nil {
		t.Error("Connect after Close succeeded")
	}
}

func TestSourceConcurrentAcks(t *testing.T) {
	addr := newCluster(t)
	const n = 200
	var msgs []msg
	for i := range n {
		stream := fmt.Sprintf("s%d", i%2)
		msgs = append(msgs, msg{i % 2, stream, segment(stream, i)})
	}
	produce(t, addr, msgs...)
	src := newSource(t, addr, 0)
	defer src.Close(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	acks := make(chan pipeline.AckFunc, n)
	for range n {
		_, ack, err := src.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acks <- ack
	}
	close(acks)
	// Eight goroutines acknowledge in whatever order they pick them up.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ack := range acks {
				if err := ack(ctx, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if c := committed(t, addr); c != [2]int64{n / 2, n / 2} {
		t.Fatalf("committed %v, want [%d %d]", c, n/2, n/2)
	}
}

func ExampleSource() {
	cluster, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "transcripts"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()
	ctx := context.Background()
	w := &kafkago.Writer{Addr: kafkago.TCP(cluster.ListenAddrs()...), Topic: "transcripts", BatchTimeout: time.Millisecond}
	if err := w.WriteMessages(ctx, kafkago.Message{
		Key:   []byte("call-42"),
		Value: []byte(`{"stream_id":"call-42","start":3.2,"end":6.85,"text":"sure, that's just great","final":true}`),
	}); err != nil {
		fmt.Println(err)
		return
	}
	w.Close()

	src, err := kafka.New(kafka.Config{Brokers: cluster.ListenAddrs(), Topic: "transcripts", GroupID: "cmc-stream", MaxWait: 10 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := src.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close(ctx)
	seg, ack, err := src.Read(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(seg.StreamID, seg.Text)
	// Once every sink accepted the events of the segment:
	if err := ack(ctx, nil); err != nil {
		fmt.Println(err)
	}
	// Output: call-42 sure, that's just great
}
