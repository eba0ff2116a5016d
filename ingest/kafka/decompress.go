package kafka

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"sync"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// DefaultMaxDecompressedBytes is the default of Config.MaxDecompressedBytes:
// 16 MiB, sixteen times the default fetch size (DefaultMaxBytes) and far
// above what a batch of transcript segments and audio chunks holds.
//
// Without a bound, kafka-go inflates a record batch whole in memory while it
// decodes a fetch, before any message reaches this package, so a few
// kilobytes of gzip could claim gigabytes. kafka-go decodes batches with the
// codecs of its global compress.Codecs table; this package replaces them,
// once, when it is loaded, with bounded ones, so the bound holds for every
// kafka-go reader of the process. Their bound is the largest
// MaxDecompressedBytes of the sources connected in the process
// (DefaultMaxDecompressedBytes when none is), as kafka-go gives a codec no
// way to tell which reader it serves; a source also refuses a message above
// its own bound (ErrDecompressedTooLarge), so each source's bound holds for
// its messages whatever the others use.
const DefaultMaxDecompressedBytes = 16 << 20

// ErrDecompressedTooLarge is wrapped by the *MalformedError of a message
// above Config.MaxDecompressedBytes (its value is empty), or of one whose
// record batch inflates beyond it and cannot be streamed up to it (beyond
// BatchInflateFactor times the bound, or a malformed record before it).
var ErrDecompressedTooLarge = fmt.Errorf("message or its record batch inflates beyond the bound (kafka.Config.MaxDecompressedBytes)")

func init() {
	codecLimit.Store(DefaultMaxDecompressedBytes)
	for i, c := range compress.Codecs {
		if c != nil {
			compress.Codecs[i] = boundedCodec{Codec: c}
		}
	}
}

// codecLimit is the bound of the bounded codecs: the largest bound of
// limits, or DefaultMaxDecompressedBytes when limits is empty.
var (
	codecLimit atomic.Int64
	limitsMu   sync.Mutex
	limits     = map[any]int64{} // the bound of each connected source
)

// inflated counts the bytes the bounded codecs produced
// in the process; tests read it to show what a bomb cost.
var inflated atomic.Int64

// setCodecLimit records the bound of source s (none when limit is 0) and
// sets codecLimit.
func setCodecLimit(s any, limit int64) {
	limitsMu.Lock()
	defer limitsMu.Unlock()
	if limit == 0 {
		delete(limits, s)
	} else {
		limits[s] = limit
	}
	l := int64(DefaultMaxDecompressedBytes)
	if len(limits) > 0 {
		l = 0
		for v := range maps.Values(limits) {
			l = max(l, v)
		}
	}
	codecLimit.Store(l)
}

// boundedCodec is a codec whose readers fail beyond limit bytes, or
// codecLimit bytes when limit is 0.
type boundedCodec struct {
	compress.Codec
	limit int64
}

// NewReader returns a reader of r's decompressed bytes that fails with
// ErrDecompressedTooLarge after the codec's limit.
func (c boundedCodec) NewReader(r io.Reader) io.ReadCloser {
	return &boundedReader{rc: c.Codec.NewReader(r), src: r, left: cmp.Or(c.limit, codecLimit.Load())}
}

// boundedReader reads at most left bytes, then fails with tooLarge if more
// follow. It then consumes the rest of the compressed input src (bounded by
// the fetch size), so that the connection stays at a message boundary.
type boundedReader struct {
	rc   io.ReadCloser
	src  io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		// One byte more than the limit is the proof of a bomb.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			inflated.Add(1)
			_, _ = io.Copy(io.Discard, b.src)
			return 0, tooLarge{}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	inflated.Add(int64(n))
	return n, err
}

func (b *boundedReader) Close() error { return b.rc.Close() }

// tooLarge is the error of a boundedReader. It is ErrDecompressedTooLarge,
// and, to kafka-go, the broker error MessageSizeTooLarge: kafka-go's reader
// hands errors of the Kafka protocol to FetchMessage, where the source
// rejects the message, but only logs others and retries forever.
type tooLarge struct{}

func (tooLarge) Error() string { return ErrDecompressedTooLarge.Error() }

func (tooLarge) Is(target error) bool { return target == ErrDecompressedTooLarge }

func (tooLarge) As(target any) bool {
	if e, ok := target.(*kafkago.Error); ok {
		*e = kafkago.MessageSizeTooLarge
		return true
	}
	return false
}
