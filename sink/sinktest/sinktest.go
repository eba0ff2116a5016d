// Package sinktest is the conformance suite of the sink.Sink contract. Every
// sink implementation runs it from its tests:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Reader) { ... })
//	}
//
// The suite checks delivery and per-stream order, empty batches, that the
// batch slice is not retained, cancellation, that an unencodable event fails
// its whole batch, concurrent writers, Flush when the sink is a
// pipeline.Flusher, and Write after Close.
package sinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink"
)

// Reader returns the next n events the sink under test delivered, in the
// order its consumer received them, blocking until they arrived or ctx is
// done.
type Reader func(ctx context.Context, n int) ([]event.Event, error)

// Setup creates a fresh sink under test and a Reader of what it delivers;
// the Reader must already observe the sink when Setup returns. Setup
// registers its own cleanup with t; the suite closes the sink.
type Setup func(t *testing.T) (sink.Sink, Reader)

// Timeout bounds each read of the suite: ten seconds, far above a loopback
// round trip, so only a lost event makes a test wait that long.
const Timeout = 10 * time.Second

// Run runs the conformance suite, each case as a subtest with its own sink.
func Run(t *testing.T, setup Setup) {
	cases := []struct {
		name string
		f    func(t *testing.T, s sink.Sink, read Reader)
	}{
		{"DeliversInOrderPerStream", testDelivers},
		{"EmptyBatch", testEmptyBatch},
		{"BatchNotRetained", testBatchNotRetained},
		{"CancelledContext", testCancelled},
		{"UnencodableFailsBatch", testUnencodable},
		{"ConcurrentWriters", testConcurrent},
		{"Flush", testFlush},
		{"WriteAfterClose", testWriteAfterClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, read := setup(t)
			c.f(t, s, read)
			if err := s.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// Events returns n valid events spread round-robin over the given number of
// streams ("stream-0", ...), with consecutive window sequence numbers per
// stream and distinct probabilities. The result is deterministic.
func Events(n, streams int) []event.Event {
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	evs := make([]event.Event, n)
	for i := range evs {
		stream := fmt.Sprintf("stream-%d", i%streams)
		seq := uint64(i / streams)
		start := base.Add(time.Duration(seq) * time.Second)
		p := event.Softmax([3]float64{float64(i%7) / 3, 0.5, -float64(i%5) / 4})
		text := event.Softmax([3]float64{0, 0, 1})
		evs[i] = event.Event{
			Schema:   event.Schema,
			EventID:  event.ID(stream, event.Utterance, seq),
			StreamID: stream,
			Speaker:  "customer",
			Window:   event.Window{Kind: event.Utterance, Seq: seq, Start: start, End: start.Add(750 * time.Millisecond)},
			Label:    p.Argmax(),
			Probs:    p,
			Modalities: event.Modalities{
				Text:   event.Modality{Present: true, Label: text.Argmax(), Probs: &text, RouterWeight: 0.25},
				Audio:  event.Modality{Present: true, Label: p.Argmax(), Probs: &p, RouterWeight: 0.5},
				Vision: event.Modality{RouterWeight: 0.25},
			},
			Consensus:  event.Consensus{EmbeddingSimilarity: sim},
			Transcript: fmt.Sprintf("utterance %d", i),
			Model:      event.Model{Name: "cmc-test", Version: "0"},
			LatencyMS:  event.Latency{Features: 1, Model: 2, EndToEnd: 3.5},
		}
		evs[i].Derive()
	}
	return evs
}

func readN(t *testing.T, read Reader, n int) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	got, err := read(ctx, n)
	if err != nil {
		t.Fatalf("reading %d events: %v", n, err)
	}
	if len(got) != n {
		t.Fatalf("read %d events, want %d", len(got), n)
	}
	return got
}

func write(t *testing.T, s sink.Sink, evs []event.Event) {
	t.Helper()
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatalf("Write of %d events: %v", len(evs), err)
	}
}

func encode(t *testing.T, e event.Event) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSame checks that got holds exactly the events of want, with the
// events of each stream in the order of want.
func checkSame(t *testing.T, got, want []event.Event) {
	t.Helper()
	perStream := func(evs []event.Event) map[string][]string {
		m := make(map[string][]string)
		for _, e := range evs {
			m[e.StreamID] = append(m[e.StreamID], encode(t, e))
		}
		return m
	}
	g, w := perStream(got), perStream(want)
	if len(g) != len(w) {
		t.Fatalf("got events of %d streams, want %d", len(g), len(w))
	}
	for stream, ws := range w {
		if !slices.Equal(g[stream], ws) {
			t.Fatalf("stream %s: got\n%v\nwant\n%v", stream, g[stream], ws)
		}
	}
}

// checkNext writes a marker event and checks that it is the next event
// delivered, which shows that nothing else was delivered before it.
func checkNext(t *testing.T, s sink.Sink, read Reader) {
	t.Helper()
	marker := Events(1, 1)
	marker[0].Transcript = "marker"
	write(t, s, marker)
	if got := readN(t, read, 1); got[0].Transcript != "marker" {
		t.Fatalf("delivered %q before the marker", got[0].EventID)
	}
}

func testDelivers(t *testing.T, s sink.Sink, read Reader) {
	evs := Events(30, 3)
	for i := 0; i < len(evs); i += 10 {
		write(t, s, evs[i:i+10])
	}
	got := readN(t, read, len(evs))
	checkSame(t, got, evs)
	for _, e := range got {
		if err := e.Validate(); err != nil {
			t.Fatalf("delivered an invalid event: %v", err)
		}
	}
}

func testEmptyBatch(t *testing.T, s sink.Sink, read Reader) {
	write(t, s, nil)
	write(t, s, []event.Event{})
	checkNext(t, s, read)
}

func testBatchNotRetained(t *testing.T, s sink.Sink, read Reader) {
	evs := Events(8, 2)
	want := slices.Clone(evs)
	write(t, s, evs)
	// The caller reuses the slice after Write returns.
	for i := range evs {
		evs[i] = event.Event{StreamID: "overwritten"}
	}
	checkSame(t, readN(t, read, len(want)), want)
}

func testCancelled(t *testing.T, s sink.Sink, read Reader) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Write(ctx, Events(3, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context = %v, want context.Canceled", err)
	}
	checkNext(t, s, read)
}

func testUnencodable(t *testing.T, s sink.Sink, read Reader) {
	evs := Events(2, 1)
	evs[1].Probs.Negative = math.NaN()
	if err := s.Write(t.Context(), evs); err == nil {
		t.Fatal("Write of an event with a NaN probability succeeded")
	}
	checkNext(t, s, read)
}

func testConcurrent(t *testing.T, s sink.Sink, read Reader) {
	const writers, each = 4, 10
	all := Events(writers*each, writers)
	var wg sync.WaitGroup
	for w := range writers {
		var mine []event.Event
		for i := w; i < len(all); i += writers {
			mine = append(mine, all[i])
		}
		wg.Go(func() {
			for i := range mine {
				if err := s.Write(t.Context(), mine[i:i+1]); err != nil {
					t.Errorf("Write: %v", err)
				}
			}
		})
	}
	wg.Wait()
	checkSame(t, readN(t, read, len(all)), all)
}

func testFlush(t *testing.T, s sink.Sink, read Reader) {
	evs := Events(5, 1)
	write(t, s, evs)
	if f, ok := s.(pipeline.Flusher); ok {
		ctx, cancel := context.WithTimeout(t.Context(), Timeout)
		defer cancel()
		if err := f.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
	checkSame(t, readN(t, read, len(evs)), evs)
}

func testWriteAfterClose(t *testing.T, s sink.Sink, _ Reader) {
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Write(t.Context(), Events(1, 1)); !errors.Is(err, sink.ErrClosed) {
		t.Fatalf("Write after Close = %v, want sink.ErrClosed", err)
	}
}
