package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestKafkaBombDeadLettered runs a pipeline with
// sources.transcripts.kafka.max_decompressed_bytes: 65536 over a partition
// holding a segment, one gzip batch of three bombs (1 MiB of zeros each,
// about 1 KiB on the wire) and a segment: both segments give their event,
// each bomb's offset is dead-lettered once naming topic, partition and
// offset and counted in the summary, and every offset is committed.
func TestKafkaBombDeadLettered(t *testing.T) {
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: inTopic, Transport: tr, Compression: kafkago.Gzip,
		BatchSize: 3, BatchBytes: 16 << 20, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	bomb := kafkago.Message{Key: []byte("a"), Value: make([]byte, 1<<20)}
	for _, batch := range [][]kafkago.Message{
		{{Key: []byte("a"), Value: []byte(seg("a", 1, 2, "fine").value)}},
		{bomb, bomb, bomb},
		{{Key: []byte("a"), Value: []byte(seg("a", 3, 4, "fine").value)}},
	} {
		if err := w.WriteMessages(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	yaml := strings.Replace(kafkaConfig(textBundle(t), addr, ""), "event_seq: start_ms}", "event_seq: start_ms, max_decompressed_bytes: 65536}", 1)
	cfg, err := DecodeConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sources.Transcripts.Kafka.MaxDecompressedBytes; got != 65536 {
		t.Fatalf("max_decompressed_bytes %d in\n%s", got, yaml)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	poll(t, "events", func() error { return errCount("events", distinct(events(t, addr)), 2) })
	poll(t, "every offset committed", func() error {
		if c := committedOffsets(t, addr, 1); !slices.Equal(c, []int64{5}) {
			return fmt.Errorf("committed %v, want [5]", c)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Error(err)
	}
	var offsets []int64
	for _, d := range deadLetters(t, addr) {
		if d.Node != "source" || d.Topic != inTopic || d.Partition == nil || *d.Partition != 0 || d.Offset == nil ||
			!strings.Contains(d.Reason, "inflates beyond the bound") || len(d.Value) != 0 {
			t.Errorf("dead letter %+v, want a bomb of %s/0 with its reason and no value", d, inTopic)
			continue
		}
		offsets = append(offsets, *d.Offset)
	}
	if !slices.Equal(offsets, []int64{1, 2, 3}) {
		t.Errorf("dead-lettered offsets %v, want [1 2 3]", offsets)
	}
	if s := app.Summary(); s.Failed != 0 || s.Rejected != 3 {
		t.Errorf("summary %+v, want 3 rejected and no failure", s)
	}
}
