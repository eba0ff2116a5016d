package kafka

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
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

// FuzzBatchEnd feeds arbitrary Fetch response bytes to findBatch and caps
// its answer as streamBatch does (lastToRead): the batch end it gives is
// never an offset before the one asked or at or beyond the high-water mark,
// findBatch allocates only its error (whatever lengths the input declares),
// and on record batches of magic 2 it answers what franz-go's decoder of the
// batch header (kmsg.RecordBatch) reads: the first offset plus the last
// offset delta.
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
		alloctest.Bound(t, 64<<10, func() { _, last, err = findBatch(raw, next) })
		if err != nil {
			return
		}
		last = lastToRead(last, next, hwm)
		if last < next || (hwm > next && last >= hwm) {
			t.Fatalf("batch end (next %d, hwm %d) = %d", next, hwm, last)
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
				t.Fatalf("batch end = %d, franz-go reads the batch as ending at %d", last, want)
			}
		}
	})
}

// FuzzStreamBatch feeds arbitrary record bytes, in an uncompressed batch
// of magic 2 at offset 10, to streamBatch with a bound of limit bytes: it
// emits offsets in increasing order from 10 to the batch's last, each once
// at most, and each after the first one it could not read; no delivered
// message is above the bound; it allocates in proportion to its input,
// whatever the lengths the input declares; and when franz-go's record codec
// (kmsg.Record, a second implementation) reads the input as the batch's
// records, with offset deltas within the batch, each record within the bound
// is delivered with the key, value and headers kmsg reads, and each above
// it is rejected at its offset.
func FuzzStreamBatch(f *testing.F) {
	rec := func(delta int32, key, value string, headers ...string) []byte {
		r := kmsg.Record{OffsetDelta: delta, Key: []byte(key), Value: []byte(value)}
		for i := 0; i+1 < len(headers); i += 2 {
			r.Headers = append(r.Headers, kmsg.Header{Key: headers[i], Value: []byte(headers[i+1])})
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		return r.AppendTo(nil)
	}
	big := strings.Repeat("b", 100)
	f.Add(slices.Concat(rec(0, "a", "good"), rec(1, "a", big), rec(2, "a", "good 2", "h", "v"), rec(3, "", big), rec(4, "a", "good 3")), uint8(5), uint8(4), uint16(64))
	f.Add(slices.Concat(rec(0, "a", "x"), rec(2, "a", "y")), uint8(2), uint8(2), uint16(64))
	f.Add(rec(0, "a", "x", "k", big), uint8(1), uint8(0), uint16(64))
	f.Add([]byte{0x7f, 0, 0, 0}, uint8(1), uint8(0), uint16(64))
	f.Add([]byte("not records at all"), uint8(3), uint8(3), uint16(1))
	f.Fuzz(func(t *testing.T, records []byte, count, lastDelta uint8, limit uint16) {
		const first = 10
		b := kmsg.RecordBatch{FirstOffset: first, Magic: 2, LastOffsetDelta: int32(lastDelta), NumRecords: int32(count), Records: records}
		b.Length = int32(len(b.AppendTo(nil)) - 12)
		raw := b.AppendTo(nil)
		batch, last, err := findBatch(raw, first)
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			m   kafkago.Message
			bad error
		}
		var out []got
		var after int64
		// The messages kept (and their slice's doubling), the batch's
		// reader, and 64 KiB for the fuzzing engine.
		alloctest.Bound(t, uint64(64<<10+8<<10+4*(len(records)*int(headerCost+1)+int(count)*300+int(lastDelta)*300)), func() {
			after, _ = streamBatch(batch, last, first, 0, int64(limit), func(m kafkago.Message, bad error) bool {
				out = append(out, got{m, bad})
				return true
			})
		})
		if after != last+1 {
			t.Fatalf("streamBatch returned %d, want %d", after, last+1)
		}
		prev, failed := int64(first-1), false
		for _, g := range out {
			if g.m.Offset <= prev || g.m.Offset > last {
				t.Fatalf("offset %d after %d, batch %d to %d", g.m.Offset, prev, first, last)
			}
			prev = g.m.Offset
			if failed && g.bad == nil {
				t.Fatalf("offset %d delivered after a record that could not be read", g.m.Offset)
			}
			if g.bad != nil && !errors.Is(g.bad, ErrDecompressedTooLarge) {
				t.Fatalf("offset %d rejected with %v, want ErrDecompressedTooLarge", g.m.Offset, g.bad)
			}
			if g.bad == nil && int64(len(g.m.Key)+len(g.m.Value)) > int64(limit) {
				t.Fatalf("offset %d delivered with %d bytes, bound %d", g.m.Offset, len(g.m.Key)+len(g.m.Value), limit)
			}
			if g.bad != nil && len(g.m.Value) != 0 {
				t.Fatalf("offset %d rejected with its value", g.m.Offset)
			}
		}
		// The reference: kmsg's records, when it reads the input as
		// count canonical records with increasing offset deltas.
		var want []kmsg.Record
		src, delta := records, int32(-1)
		for range count {
			n, k := binary.Varint(src)
			if k <= 0 || n < 0 || int64(k)+n > int64(len(src)) {
				return
			}
			var r kmsg.Record
			if r.ReadFrom(src[:int64(k)+n]) != nil || !bytes.Equal(r.AppendTo(nil), src[:int64(k)+n]) || r.OffsetDelta <= delta || r.OffsetDelta > int32(lastDelta) {
				return
			}
			delta = r.OffsetDelta
			want = append(want, r)
			src = src[int64(k)+n:]
		}
		if len(out) != len(want) {
			t.Fatalf("emitted %d messages, kmsg reads %d records", len(out), len(want))
		}
		for i, r := range want {
			g := out[i]
			size := len(r.Key) + len(r.Value) + len(r.Headers)*int(headerCost)
			for _, h := range r.Headers {
				size += len(h.Key) + len(h.Value)
			}
			if g.m.Offset != first+int64(r.OffsetDelta) {
				t.Fatalf("message %d at offset %d, kmsg reads offset delta %d", i, g.m.Offset, r.OffsetDelta)
			}
			if (g.bad != nil) != (size > int(limit)) {
				t.Fatalf("message %d (%d bytes, bound %d): rejected %v", i, size, limit, g.bad)
			}
			if g.bad != nil {
				continue
			}
			if !bytes.Equal(g.m.Key, r.Key) || !bytes.Equal(g.m.Value, r.Value) || len(g.m.Headers) != len(r.Headers) {
				t.Fatalf("message %d = %q %q %v, kmsg reads %q %q %v", i, g.m.Key, g.m.Value, g.m.Headers, r.Key, r.Value, r.Headers)
			}
			for j, h := range r.Headers {
				if g.m.Headers[j].Key != h.Key || !bytes.Equal(g.m.Headers[j].Value, h.Value) {
					t.Fatalf("message %d header %d = %v, kmsg reads %v", i, j, g.m.Headers[j], h)
				}
			}
		}
	})
}
