package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cmc-stream/cmc-stream/internal/alloctest"
)

// TestStreamBatchGzip streams gzip batches, encoded by franz-go's kmsg
// (a second implementation of the record format) and kafka-go's gzip
// writer, with a bound of 64 KiB: in a batch of good, bomb (80 KiB), good,
// bomb, good records, the good ones are delivered with their values and
// each bomb is rejected at its offset; in a batch of good, bomb (1 MiB),
// good, the stream stops at BatchInflateFactor times the bound, inside the
// bomb, so the bomb and the good record after it are rejected with
// errBatchTooLarge. Either way the stream allocates less than a bomb: the
// bounded gzip reader's state, not the records above the bound.
func TestStreamBatchGzip(t *testing.T) {
	const limit = 64 << 10
	for _, tc := range []struct {
		name      string
		values    [][]byte
		delivered []int64 // the offsets delivered, with values[offset]
		rejected  []int64
		capped    bool // rejected after the inflation cap
	}{
		{"mixed", [][]byte{[]byte("good 0"), make([]byte, 80<<10), []byte("good 2"), make([]byte, 80<<10), []byte("good 4")},
			[]int64{0, 2, 4}, []int64{1, 3}, false},
		{"capped", [][]byte{[]byte("good 0"), make([]byte, 1<<20), []byte("good 2")},
			[]int64{0}, []int64{1, 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := gzipBatch(t, tc.values)
			var delivered, rejected []int64
			// The gzip reader's window and tables and the record reader's
			// buffer; below one bomb of 80 KiB.
			alloctest.Bound(t, 72<<10, func() {
				after, ok := streamBatch(batch, int64(len(tc.values)-1), 0, 0, limit, func(m kafkago.Message, bad error) bool {
					if bad == nil {
						delivered = append(delivered, m.Offset)
						if !bytes.Equal(m.Value, tc.values[m.Offset]) || string(m.Key) != "a" {
							t.Errorf("offset %d delivered as %q %q, want a %q", m.Offset, m.Key, m.Value, tc.values[m.Offset])
						}
						return true
					}
					rejected = append(rejected, m.Offset)
					if !errors.Is(bad, ErrDecompressedTooLarge) || (tc.capped && m.Offset > 0 && bad != errBatchTooLarge) || len(m.Value) != 0 {
						t.Errorf("offset %d rejected with %v and %d value bytes", m.Offset, bad, len(m.Value))
					}
					return true
				})
				if !ok || after != int64(len(tc.values)) {
					t.Errorf("streamBatch = %d, %v; want %d, true", after, ok, len(tc.values))
				}
			})
			if !slices.Equal(delivered, tc.delivered) || !slices.Equal(rejected, tc.rejected) {
				t.Errorf("delivered %v, rejected %v; want %v, %v", delivered, rejected, tc.delivered, tc.rejected)
			}
		})
	}
}

// gzipBatch returns a gzip record batch of magic 2 at offset 0 of records
// keyed "a" with the given values, encoded by kmsg.
func gzipBatch(t *testing.T, values [][]byte) []byte {
	t.Helper()
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Key: []byte("a"), Value: v}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	var gz bytes.Buffer
	w := compress.Gzip.Codec().NewWriter(&gz)
	if _, err := w.Write(records); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := kmsg.RecordBatch{Magic: 2, Attributes: 1, LastOffsetDelta: int32(len(values) - 1), NumRecords: int32(len(values)), Records: gz.Bytes()}
	b.Length = int32(len(b.AppendTo(nil)) - 12)
	return b.AppendTo(nil)
}

// TestStreamBatchUnknownCodec streams batches whose attributes name
// compression codecs 5 to 7, which Kafka does not define: each offset is
// rejected, naming the codec, without a panic.
func TestStreamBatchUnknownCodec(t *testing.T) {
	for _, codec := range []int16{5, 6, 7} {
		b := kmsg.RecordBatch{Magic: 2, Attributes: codec, LastOffsetDelta: 1, NumRecords: 2, Records: []byte("whatever")}
		b.Length = int32(len(b.AppendTo(nil)) - 12)
		var rejected []int64
		after, ok := streamBatch(b.AppendTo(nil), 1, 0, 0, 64<<10, func(m kafkago.Message, bad error) bool {
			if want := fmt.Sprintf("unknown compression codec %d", codec); bad == nil || !strings.Contains(bad.Error(), want) {
				t.Errorf("codec %d: offset %d emitted with %v, want it rejected naming %q", codec, m.Offset, bad, want)
			}
			rejected = append(rejected, m.Offset)
			return true
		})
		if !ok || after != 2 || !slices.Equal(rejected, []int64{0, 1}) {
			t.Errorf("codec %d: streamBatch = %d, %v, rejected %v; want 2, true, [0 1]", codec, after, ok, rejected)
		}
	}
}
