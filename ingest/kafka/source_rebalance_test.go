package kafka_test

import (
	"context"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TestSourceRebalanceNoRewind checks issue #7: member A reads three
// segments on each of the two partitions, acknowledges the first of each and
// holds the others back. Member B joins and takes one partition (q) over,
// reads the held segments again from the committed offset and commits past
// them. A's late acknowledgements on q must not move q's committed offset
// back, while those on the partition A kept (r) still commit, and A goes on
// there after what it returned, not returning anything twice.
func TestSourceRebalanceNoRewind(t *testing.T) {
	addr := newCluster(t)
	produce(t, addr,
		msg{0, "a", segment("a", 0)}, msg{0, "a", segment("a", 1)}, msg{0, "a", segment("a", 2)},
		msg{1, "b", segment("b", 0)}, msg{1, "b", segment("b", 1)}, msg{1, "b", segment("b", 2)},
	)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	a := newSource(t, addr, 0)
	defer a.Close(ctx)
	// held[stream][i] is A's acknowledgement of segment i of the stream.
	held := map[string][]pipeline.AckFunc{}
	for range 6 {
		seg, ack, err := a.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held[seg.StreamID] = append(held[seg.StreamID], ack)
	}
	for _, stream := range []string{"a", "b"} {
		if len(held[stream]) != 3 {
			t.Fatalf("A read %d segments of %s, want 3", len(held[stream]), stream)
		}
		if err := held[stream][0](ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := committed(t, addr); c != [2]int64{1, 1} {
		t.Fatalf("committed %v, want [1 1]", c)
	}

	b := newSource(t, addr, 0)
	defer b.Close(ctx)
	var got []event.Segment
	var acks []pipeline.AckFunc
	for range 2 {
		seg, ack, err := b.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, acks = append(got, seg), append(acks, ack)
	}
	q := got[0].StreamID
	if got[1].StreamID != q || got[0].Text != "segment 1" || got[1].Text != "segment 2" {
		t.Fatalf("B read %+v, want segments 1 and 2 of one stream", got)
	}
	qp, r := map[string]int{"a": 0, "b": 1}[q], map[string]string{"a": "b", "b": "a"}[q]
	for _, ack := range acks {
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := committed(t, addr); c[qp] != 3 {
		t.Fatalf("committed %v after B's acknowledgements, want 3 on partition %d", c, qp)
	}

	// A acknowledges what it held on q, which it lost to B.
	for i := 1; i < 3; i++ {
		if err := held[q][i](ctx, nil); err != nil {
			t.Fatal(err)
		}
		if c := committed(t, addr); c[qp] != 3 {
			t.Fatalf("committed %v after A acknowledged segment %d of %s, a partition it lost: want 3 on partition %d",
				c, i, q, qp)
		}
	}
	// A still owns r: its acknowledgements there commit.
	for i := 1; i < 3; i++ {
		if err := held[r][i](ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := committed(t, addr); c[1-qp] != 3 {
		t.Fatalf("committed %v, want 3 on A's partition %d", c, 1-qp)
	}
	produce(t, addr, msg{0, "a", segment("a", 3)}, msg{1, "b", segment("b", 3)})
	for _, m := range []struct {
		src    *kafka.Source[event.Segment]
		stream string
	}{{a, r}, {b, q}} {
		seg, _, err := m.src.Read(ctx)
		if err != nil || seg.StreamID != m.stream || seg.Text != "segment 3" {
			t.Fatalf("read %+v, %v; want the new segment 3 of %s", seg, err, m.stream)
		}
	}
}
