package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/ingest/sourcetest"
)

// TestConformance runs the source conformance suite on a consumer-group
// member of an in-process Kafka broker (kfake) holding four segments on one
// partition: a live source, which waits for more after them.
func TestConformance(t *testing.T) {
	const n = 4
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[event.Segment] {
		addr := newCluster(t)
		var msgs []msg
		for i := range n {
			msgs = append(msgs, msg{0, "call-7", segment("call-7", i)})
		}
		produce(t, addr, msgs...)
		src, err := kafka.New(kafka.Config{
			Brokers: []string{addr}, Topic: topic, GroupID: group,
			MaxWait: 10 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
			SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		return sourcetest.Fixture[event.Segment]{Source: src, Items: n, Live: true, Check: func(t *testing.T, got []event.Segment) {
			for i, s := range got {
				if s.StreamID != "call-7" || s.Text != fmt.Sprintf("segment %d", i) || s.Start.Offset() != time.Duration(i)*time.Second {
					t.Errorf("segment %d = %+v, want segment %d at %ds", i, s, i, i)
				}
			}
		}}
	})
}
