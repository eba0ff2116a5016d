package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSourceFailedAckNotCommitted acknowledges the second of three segments
// with a failure (an item that failed with no dead letter written): the
// partition is committed up to it and no further, Stalled names it, and a
// member that joins after a restart gets it and the one after it again.
func TestSourceFailedAckNotCommitted(t *testing.T) {
	addr := newCluster(t)
	produce(t, addr, msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)}, msg{0, "a", segment("a", 2)})
	src := newSource(t, addr, 0)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	acks := readSegments(ctx, t, src, 3)
	errSink := errors.New("events sink unreachable")
	if err := acks[0](ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := acks[1](ctx, errSink); !errors.Is(err, errSink) {
		t.Errorf("failed ack returned %v, want an error wrapping the failure", err)
	}
	if err := acks[2](ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, addr); got[0] != 1 {
		t.Errorf("committed %v, want 1: the failed segment at offset 1 must not be committed", got)
	}
	if err := src.Stalled(); err == nil || !strings.Contains(err.Error(), topic+"/0 stopped at offset 1") || !errors.Is(err, errSink) {
		t.Errorf("Stalled() = %v, want partition 0 stopped at offset 1 by the failure", err)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}

	again := newSource(t, addr, 0)
	defer again.Close(t.Context())
	for i := 1; i < 3; i++ {
		seg, ack, err := again.Read(ctx)
		if err != nil || seg.Text != segment0Text(i) {
			t.Fatalf("read %d after the restart: %+v, %v; want the failed segment and the next again", i, seg, err)
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := committed(t, addr); got[0] != 3 {
		t.Errorf("committed %v after the redelivery, want 3", got)
	}
	if err := again.Stalled(); err != nil {
		t.Errorf("Stalled() after the redelivery = %v, want nil", err)
	}
}

// TestSourceBoundPerPartition holds MaxUnacked messages of partition 0
// unacknowledged (a stream whose audio waits for its transcript): partition
// 1's next message is still read.
func TestSourceBoundPerPartition(t *testing.T) {
	addr := newCluster(t)
	produce(t, addr, msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)}, msg{0, "a", segment("a", 2)})
	src := newSource(t, addr, 2)
	defer src.Close(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for i := range 2 {
		if seg, _, err := src.Read(ctx); err != nil || seg.StreamID != "a" {
			t.Fatalf("read %d: %+v, %v", i, seg, err)
		}
	}
	produce(t, addr, msg{1, "b", segment("b", 0)})
	seg, _, err := src.Read(ctx)
	if err != nil || seg.StreamID != "b" {
		t.Fatalf("read with partition 0 at its bound: %+v, %v; want stream b of partition 1", seg, err)
	}
}
