package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec/kafkasectest"
)

// TestDecompressionBomb produces one gzip batch of two messages that
// inflates to 64 MiB (about 64 KiB on the wire), then a valid segment: each
// of the bomb's two offsets goes to Config.Reject as ErrDecompressedTooLarge
// without the batch being inflated whole, and the partition goes on with the
// segment (it does not stall on the bomb).
func TestDecompressionBomb(t *testing.T) {
	addr := newCluster(t)
	w := gzipWriter(addr, 2)
	defer w.Close()
	// Inflating 16 MiB under the race detector, with the GC target below,
	// took 4 to more than 20 s on a loaded machine (two busy loops and
	// other builds): more time than the other tests get.
	ctx, cancel := context.WithTimeout(t.Context(), 6*timeout)
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
	s, got := rejectingSource(t, addr, 0)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	readAck(ctx, t, s, 1, *got)
	grown := peak() - base
	rejected := *got
	if len(rejected) != 2 {
		t.Fatalf("rejected %v, want the bomb's two offsets", rejected)
	}
	for i, m := range rejected {
		if !errors.Is(m, kafka.ErrDecompressedTooLarge) || m.Topic != topic || m.Offset != int64(i) || len(m.Value) != 0 {
			t.Errorf("rejected[%d] = %v (offset %d, %d value bytes), want %s offset %d as ErrDecompressedTooLarge without a value",
				i, m, m.Offset, len(m.Value), topic, i)
		}
	}
	// Each try inflates at most DefaultMaxDecompressedBytes, in a buffer kafka-go
	// grows by doubling: while it grows, the old buffer and one of twice
	// its size are live, three times the default bound (48 MiB), still below the
	// 64 MiB of the batch inflated whole; 8 MiB of slack for the rest of
	// the fetch. The bound is on the peak heap, not on the bytes
	// allocated, which grow with the retries a loaded machine makes.
	if limit := uint64(3*kafka.DefaultMaxDecompressedBytes + 8<<20); grown > limit {
		t.Errorf("reading past the bomb held %d MiB of heap at its peak, want at most %d MiB", grown>>20, limit>>20)
	}
}

// gzipWriter returns a writer of gzip batches of up to batchSize messages
// to the topic, keyed by stream id.
func gzipWriter(addr string, batchSize int) *kafkago.Writer {
	return &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Transport: &kafkago.Transport{}, Compression: kafkago.Gzip,
		Balancer: &kafkago.Hash{}, BatchBytes: 128 << 20, BatchSize: batchSize, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
}

// rejectingSource returns a segment source, not connected, with the given
// MaxDecompressedBytes, whose Reject appends each malformed message to the
// slice returned.
func rejectingSource(t *testing.T, addr string, maxDecompressed int) (*kafka.Source[event.Segment], *[]*kafka.MalformedError) {
	t.Helper()
	var rejected []*kafka.MalformedError
	s, err := kafka.New(kafka.Config{Brokers: []string{addr}, Topic: topic, GroupID: group, MaxDecompressedBytes: maxDecompressed,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
		Reject: func(_ context.Context, m *kafka.MalformedError) error {
			rejected = append(rejected, m)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s, &rejected
}

// readAck reads the next item of s, which must be segment i, and
// acknowledges it; rejected, what was rejected so far, goes into the
// failure.
func readAck(ctx context.Context, t *testing.T, s *kafka.Source[event.Segment], i int, rejected any) {
	t.Helper()
	seg, ack, err := s.Read(ctx)
	if err != nil || seg.Text != fmt.Sprintf("segment %d", i) {
		t.Fatalf("Read = %+v, %v; want segment %d (rejected %v)", seg, err, i, rejected)
	}
	if err := ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// readPastBombs connects a rejecting source with the given
// MaxDecompressedBytes (closed when t ends), reads and acknowledges segments
// 1 to n, and returns what it rejected meanwhile and the bytes the bounded
// codecs inflated.
func readPastBombs(ctx context.Context, t *testing.T, addr string, maxDecompressed, n int) ([]*kafka.MalformedError, int64) {
	t.Helper()
	s, got := rejectingSource(t, addr, maxDecompressed)
	before := kafka.Inflated()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	for i := 1; i <= n; i++ {
		readAck(ctx, t, s, i, *got)
	}
	return *got, kafka.Inflated() - before
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

// TestDecompressionBombBatch produces, with a bound of 64 KiB, a segment,
// one gzip batch of four bombs (1 MiB of zeros each, about 1 KiB on the
// wire), a segment, a batch of one bomb, and a segment: each bomb's offset
// is rejected once as ErrDecompressedTooLarge naming topic, partition and
// offset; the segments arrive in order; the committed offset moves past
// every bomb; and the two bad batches are inflated at most once each, up to
// the bound by kafka-go and once up to BatchInflateFactor times the bound
// while its records are streamed (not once per bomb, nor whole: 4 MiB).
func TestDecompressionBombBatch(t *testing.T) {
	const limit = 64 << 10
	addr := newCluster(t)
	w := gzipWriter(addr, 4)
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	bomb := kafkago.Message{Key: []byte("a"), Value: make([]byte, 1<<20)}
	for _, batch := range [][]kafkago.Message{
		{{Key: []byte("a"), Value: []byte(segment("a", 1))}},
		{bomb, bomb, bomb, bomb},
		{{Key: []byte("a"), Value: []byte(segment("a", 2))}},
		{bomb},
		{{Key: []byte("a"), Value: []byte(segment("a", 3))}},
	} {
		if err := w.WriteMessages(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	rejected, spent := readPastBombs(ctx, t, addr, limit, 3)
	t.Logf("inflated %d bytes for 5 bombs of 1 MiB in 2 batches, bound %d", spent, limit)
	wantOffsets := []int64{1, 2, 3, 4, 6}
	if len(rejected) != len(wantOffsets) {
		t.Fatalf("rejected %v, want offsets %v", rejected, wantOffsets)
	}
	for i, m := range rejected {
		if !errors.Is(m, kafka.ErrDecompressedTooLarge) || m.Topic != topic || m.Partition != rejected[0].Partition ||
			m.Offset != wantOffsets[i] || len(m.Value) != 0 {
			t.Errorf("rejected[%d] = %v (%d value bytes), want %s offset %d as ErrDecompressedTooLarge without a value",
				i, m, len(m.Value), topic, wantOffsets[i])
		}
	}
	if want := fmt.Sprintf("kafka: malformed message %s/%d@%d: ", topic, rejected[0].Partition, 1); !strings.HasPrefix(rejected[0].Error(), want) {
		t.Errorf("error %q, want it to begin %q", rejected[0].Error(), want)
	}
	if c := committed(t, addr)[rejected[0].Partition]; c != 8 {
		t.Errorf("committed offset %d, want 8 (past the last segment)", c)
	}
	// Each bad batch: kafka-go's try, at most the bound and the one byte
	// beyond it that proves it a bomb, then the stream of its records, at
	// most BatchInflateFactor times the bound and a byte; 4 KiB for the
	// three segments' batches.
	if most := int64(2*(limit+1+kafka.BatchInflateFactor*limit+1) + 4<<10); spent > most {
		t.Errorf("inflated %d bytes, want at most %d (each bad batch once up to the bound, once up to its cap)", spent, most)
	}
}

// TestDecompressionBombSecured is TestDecompressionBombBatch's batch of
// bombs on a broker that requires TLS and SASL SCRAM-SHA-256: the raw fetch
// of the batch goes over the same security, so the batch is still inflated
// once by kafka-go and once streamed, and each offset rejected once.
func TestDecompressionBombSecured(t *testing.T) {
	const limit = 64 << 10
	sec := kafkasectest.Start(t, kafkasec.ScramSHA256, topic)
	addr := sec.Broker.Addr()
	tr, err := sec.Security.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	w := gzipWriter(addr, 3)
	w.Transport = tr
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	bomb := kafkago.Message{Key: []byte("a"), Value: make([]byte, 1<<20)}
	for _, batch := range [][]kafkago.Message{{bomb, bomb, bomb}, {{Key: []byte("a"), Value: []byte(segment("a", 1))}}} {
		if err := w.WriteMessages(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	var rejected []int64
	s, err := kafka.New(kafka.Config{Brokers: []string{addr}, Topic: topic, GroupID: group, MaxDecompressedBytes: limit, Security: sec.Security,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second,
		Reject: func(_ context.Context, m *kafka.MalformedError) error {
			if !errors.Is(m, kafka.ErrDecompressedTooLarge) {
				t.Errorf("rejected %v, want ErrDecompressedTooLarge", m)
			}
			rejected = append(rejected, m.Offset)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	before := kafka.Inflated()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	readAck(ctx, t, s, 1, rejected)
	if !slices.Equal(rejected, []int64{0, 1, 2}) {
		t.Errorf("rejected offsets %v, want [0 1 2]", rejected)
	}
	if spent, most := kafka.Inflated()-before, int64(limit+1+kafka.BatchInflateFactor*limit+1+4<<10); spent > most {
		t.Errorf("inflated %d bytes, want at most %d (the batch once up to the bound, once up to its cap)", spent, most)
	}
}

// TestMessageAboveBound produces, uncompressed, a message of 64 KiB and one
// byte (key included) and a segment, with a bound of 64 KiB: the message is
// rejected as ErrDecompressedTooLarge, without its value, and the segment
// follows.
func TestMessageAboveBound(t *testing.T) {
	const limit = 64 << 10
	addr := newCluster(t)
	produce(t, addr, msg{key: "a", value: string(make([]byte, limit))}, msg{key: "a", value: segment("a", 1)})
	s, got := rejectingSource(t, addr, limit)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	readAck(ctx, t, s, 1, *got)
	if r := *got; len(r) != 1 || !errors.Is(r[0], kafka.ErrDecompressedTooLarge) || r[0].Offset != 0 || len(r[0].Value) != 0 {
		t.Errorf("rejected %v, want offset 0 as ErrDecompressedTooLarge without its value", r)
	}
}

// TestDecompressionBombMixedBatch produces, with a bound of 64 KiB, one gzip
// batch of a segment, a bomb (80 KiB of zeros), a segment, a bomb and a
// segment: the three segments are delivered in order with their values,
// each bomb is rejected once as ErrDecompressedTooLarge at its own offset,
// the committed offset moves past the batch, and what is inflated is at
// most the bound once (kafka-go's try) and the batch once (the stream of
// its records), not the bombs held: each delivered value is within the
// bound, and the rejected ones carry no value.
func TestDecompressionBombMixedBatch(t *testing.T) {
	const limit, bombSize = 64 << 10, 80 << 10
	addr := newCluster(t)
	w := gzipWriter(addr, 5)
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	bomb := kafkago.Message{Key: []byte("a"), Value: make([]byte, bombSize)}
	good := func(i int) kafkago.Message { return kafkago.Message{Key: []byte("a"), Value: []byte(segment("a", i))} }
	if err := w.WriteMessages(ctx, good(1), bomb, good(2), bomb, good(3)); err != nil {
		t.Fatal(err)
	}
	rejected, spent := readPastBombs(ctx, t, addr, limit, 3)
	t.Logf("inflated %d bytes for a batch of 3 segments and 2 bombs of %d bytes, bound %d", spent, bombSize, limit)
	wantOffsets := []int64{1, 3}
	if len(rejected) != len(wantOffsets) {
		t.Fatalf("rejected %v, want offsets %v", rejected, wantOffsets)
	}
	for i, m := range rejected {
		if !errors.Is(m, kafka.ErrDecompressedTooLarge) || m.Topic != topic || m.Offset != wantOffsets[i] || len(m.Value) != 0 {
			t.Errorf("rejected[%d] = %v (%d value bytes), want offset %d as ErrDecompressedTooLarge without a value",
				i, m, len(m.Value), wantOffsets[i])
		}
	}
	if c := committed(t, addr)[rejected[0].Partition]; c != 5 {
		t.Errorf("committed offset %d, want 5 (past the batch)", c)
	}
	// kafka-go's try: the bound and the byte beyond; the stream: the two
	// bombs and 4 KiB for the segments and the records' framing.
	if most := int64(limit + 1 + 2*bombSize + 4<<10); spent > most {
		t.Errorf("inflated %d bytes, want at most %d (the bound once, the batch once)", spent, most)
	}
}
