package kafka

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"

	"github.com/segmentio/kafka-go/compress"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cmc-stream/cmc-stream/internal/alloctest"
)

// FuzzBoundedGzip feeds arbitrary bytes to the bounded gzip codec with a
// 64 KiB bound: it never yields more than the bound, input that inflates
// beyond it (by compress/gzip) never reads without error, and input within
// it never fails with ErrDecompressedTooLarge.
func FuzzBoundedGzip(f *testing.F) {
	const limit = 64 << 10
	for _, n := range []int{0, 10, limit, limit + 1, 4 * limit} {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(bytes.Repeat([]byte{'x'}, n))
		_ = zw.Close()
		f.Add(b.Bytes())
	}
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := boundedCodec{Codec: compress.Gzip.Codec(), limit: limit}
		var out []byte
		var err error
		// io.ReadAll's doubling buffer and the inflater's state.
		alloctest.Bound(t, 4*limit+256<<10, func() {
			r := c.NewReader(bytes.NewReader(in))
			defer r.Close()
			out, err = io.ReadAll(r)
		})
		if len(out) > limit {
			t.Fatalf("read %d bytes, bound %d", len(out), limit)
		}
		// A reference inflation, bounded by one byte more than the limit.
		zr, zerr := gzip.NewReader(bytes.NewReader(in))
		if zerr != nil {
			return
		}
		want, _ := io.ReadAll(io.LimitReader(zr, limit+1))
		if len(want) > limit && err == nil {
			t.Fatalf("input inflating beyond %d bytes read without error", limit)
		}
		if len(want) <= limit && errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("input inflating to %d bytes, within %d, failed: %v", len(want), limit, err)
		}
	})
}

// FuzzBatchEnd feeds arbitrary Fetch response bytes to batchEnd: it never
// answers an offset before the one asked or at or beyond the high-water
// mark, allocates only its error (whatever lengths the input declares), and
// on record batches of magic 2 answers what
// franz-go's decoder of the batch header (kmsg.RecordBatch) reads: the first
// offset plus the last offset delta.
func FuzzBatchEnd(f *testing.F) {
	batch := func(first int64, delta int32, records int) []byte {
		b := kmsg.RecordBatch{FirstOffset: first, Magic: 2, Attributes: 1, LastOffsetDelta: delta, NumRecords: int32(records),
			Records: bytes.Repeat([]byte{0x1f}, records)}
		b.Length = int32(len(b.AppendTo(nil)) - 12)
		return b.AppendTo(nil)
	}
	f.Add(batch(0, 3, 4), int64(0), int64(10))
	f.Add(batch(7, 0, 1), int64(7), int64(8))
	f.Add(append(batch(0, 3, 4), batch(4, 1, 2)...), int64(5), int64(6))
	f.Add(append(batch(0, 3, 4), batch(4, 1, 2)[:20]...), int64(4), int64(6))
	f.Add(batch(0, 1<<30, 1), int64(0), int64(3))
	f.Add([]byte("not a batch at all"), int64(0), int64(1))
	f.Fuzz(func(t *testing.T, raw []byte, next, hwm int64) {
		if next < 0 {
			return // the source asks only for offsets it resolved
		}
		var last int64
		var err error
		// Its errors only; 64 KiB for what the fuzzing engine allocates meanwhile.
		alloctest.Bound(t, 64<<10, func() { last, err = batchEnd(raw, next, hwm) })
		if err != nil {
			return
		}
		if last < next || (hwm > next && last >= hwm) {
			t.Fatalf("batchEnd(next %d, hwm %d) = %d", next, hwm, last)
		}
		var b kmsg.RecordBatch
		if b.ReadFrom(raw) != nil || b.Magic != 2 || int64(b.Length)+12 > int64(len(raw)) || b.LastOffsetDelta < 0 {
			return
		}
		if want := b.FirstOffset + int64(b.LastOffsetDelta); want >= next && want >= b.FirstOffset {
			if hwm > next {
				want = min(want, hwm-1)
			}
			if last != max(want, next) {
				t.Fatalf("batchEnd = %d, franz-go reads the batch as ending at %d", last, want)
			}
		}
	})
}
