package kafka

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"

	"github.com/segmentio/kafka-go/compress"
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
		r := c.NewReader(bytes.NewReader(in))
		defer r.Close()
		out, err := io.ReadAll(r)
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
