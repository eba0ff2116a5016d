package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
)

// TestSourceReject checks that a malformed message goes to Config.Reject,
// is offered again while Reject fails, and is committed only once Reject
// took it.
func TestSourceReject(t *testing.T) {
	addr := newCluster(t)
	produce(t, addr,
		msg{0, "a", segment("a", 0)},
		msg{0, "a", `{"stream_id":"a","start":"soon","end":1,"text":"x","final":true}`},
		msg{0, "a", segment("a", 1)},
	)
	down := errors.New("dead-letter topic unreachable")
	var rejected []*kafka.MalformedError
	fail := true
	s, err := kafka.New(kafka.Config{
		Brokers: []string{addr}, Topic: topic, GroupID: group, MaxWait: 10 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
		Reject: func(_ context.Context, m *kafka.MalformedError) error {
			rejected = append(rejected, m)
			if fail {
				return down
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	_, ack0, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ack0(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(ctx); !errors.Is(err, down) {
		t.Fatalf("Read with a failing Reject = %v, want %v", err, down)
	}
	if c := committed(t, addr); c[0] != 1 {
		t.Fatalf("committed %v before the malformed message was taken", c)
	}
	fail = false
	seg, ack1, err := s.Read(ctx)
	if err != nil || seg.Text != "segment 1" {
		t.Fatalf("Read after Reject recovered = %+v, %v", seg, err)
	}
	if len(rejected) != 2 || rejected[0] != rejected[1] || rejected[1].Offset != 1 {
		t.Fatalf("rejected %v, want the message at offset 1 twice", rejected)
	}
	var fe *event.FieldError
	if !errors.As(rejected[0], &fe) || fe.Field != "start" {
		t.Errorf("reason %v, want a field error on start", rejected[0].Err)
	}
	if err := ack1(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if c := committed(t, addr); c[0] != 3 {
		t.Fatalf("committed %v, want 3 on partition 0", c)
	}
}
