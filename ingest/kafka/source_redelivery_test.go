package kafka_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TestSourceRedelivery restarts the broker (same port, same data dir) while
// segments are in flight: one acknowledged and committed, one acknowledged
// while the broker is away (its commit fails), one not yet acknowledged.
// When the group re-forms and gives the partition back, the source commits
// the acknowledged one, returns none of the three a second time and goes on
// with the new segment.
func TestSourceRedelivery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	start := func() *kfake.Cluster {
		t.Helper()
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(2, topic), kfake.DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := start()
	addr := c.ListenAddrs()[0]
	produce(t, addr, msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)}, msg{0, "a", segment("a", 2)})
	src := newSource(t, addr, 0)
	defer src.Close(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	acks := readSegments(ctx, t, src, 3)
	if err := acks[0](ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	short, stop := context.WithTimeout(ctx, 2*time.Second)
	if err := acks[1](short, nil); err == nil {
		t.Log("the commit of segment 1 succeeded with the broker away")
	}
	stop()
	c = start()
	defer c.Close()
	produce(t, addr, msg{0, "a", segment("a", 3)})
	seg, ack3, err := src.Read(ctx)
	if err != nil || seg.Text != "segment 3" {
		t.Fatalf("read after the restart: %+v, %v; want segment 3, nothing twice", seg, err)
	}
	if got := committed(t, addr); got[0] != 2 {
		t.Errorf("committed %v after the redelivery, want 2: segment 1 was acknowledged", got)
	}
	if err := acks[2](ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := ack3(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, addr); got[0] != 4 {
		t.Errorf("committed %v, want 4", got)
	}
}

// readSegments reads segments 0 to n-1 of the test's stream and returns
// their acknowledgements.
func readSegments(ctx context.Context, t *testing.T, src *kafka.Source[event.Segment], n int) []pipeline.AckFunc {
	t.Helper()
	acks := make([]pipeline.AckFunc, n)
	for i := range acks {
		seg, ack, err := src.Read(ctx)
		if err != nil || seg.Text != segment0Text(i) {
			t.Fatalf("read %d: %+v, %v", i, seg, err)
		}
		acks[i] = ack
	}
	return acks
}

// segment0Text is the text of segment i of the test's stream.
func segment0Text(i int) string { return "segment " + string(rune('0'+i)) }
