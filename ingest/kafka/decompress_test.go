package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/ingest/kafka"
)

// TestDecompressionBomb produces one gzip batch of two messages that
// inflates to 64 MiB (about 64 KiB on the wire), then a valid segment: each
// of the bomb's two offsets goes to Config.Reject as ErrDecompressedTooLarge
// without the batch being inflated whole, and the partition goes on with the
// segment (it does not stall on the bomb).
func TestDecompressionBomb(t *testing.T) {
	addr := newCluster(t)
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Transport: &kafkago.Transport{}, Compression: kafkago.Gzip,
		Balancer: &kafkago.Hash{}, BatchBytes: 128 << 20, BatchSize: 2, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	bomb := bytes.Repeat([]byte{' '}, 32<<20)
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("a"), Value: bomb}, kafkago.Message{Key: []byte("a"), Value: bomb}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("a"), Value: []byte(segment("a", 1))}); err != nil {
		t.Fatal(err)
	}
	bomb = nil
	// A low GC target frees each try's inflation buffers before the next
	// try grows its own, so the peak heap shows one try's buffers.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := heapObjects()
	peak := watchPeakHeap(ctx)
	var rejected []*kafka.MalformedError
	s, err := kafka.New(kafka.Config{Brokers: []string{addr}, Topic: topic, GroupID: group,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
		Reject: func(_ context.Context, m *kafka.MalformedError) error {
			rejected = append(rejected, m)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	seg, ack, err := s.Read(ctx)
	if err != nil || seg.Text != "segment 1" {
		t.Fatalf("Read = %+v, %v; want segment 1 (rejected %v)", seg, err, rejected)
	}
	if err := ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	grown := peak() - base
	if len(rejected) != 2 {
		t.Fatalf("rejected %v, want the bomb's two offsets", rejected)
	}
	for i, m := range rejected {
		if !errors.Is(m, kafka.ErrDecompressedTooLarge) || m.Topic != topic || m.Offset != int64(i) || len(m.Value) != 0 {
			t.Errorf("rejected[%d] = %v (offset %d, %d value bytes), want %s offset %d as ErrDecompressedTooLarge without a value",
				i, m, m.Offset, len(m.Value), topic, i)
		}
	}
	// Each try inflates at most MaxDecompressedBytes, in a buffer kafka-go
	// grows by doubling: while it grows, the old buffer and one of twice
	// its size are live, three times the bound (48 MiB), still below the
	// 64 MiB of the batch inflated whole; 8 MiB of slack for the rest of
	// the fetch. The bound is on the peak heap, not on the bytes
	// allocated, which grow with the retries a loaded machine makes.
	if limit := uint64(3*kafka.MaxDecompressedBytes + 8<<20); grown > limit {
		t.Errorf("reading past the bomb held %d MiB of heap at its peak, want at most %d MiB", grown>>20, limit>>20)
	}
}

// heapObjects returns the bytes of live and not yet swept heap objects.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchPeakHeap samples heapObjects every millisecond until ctx ends or the
// returned function is called, which returns the largest sample.
func watchPeakHeap(ctx context.Context) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapObjects(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}
