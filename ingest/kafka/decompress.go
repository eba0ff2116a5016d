package kafka

import (
	"fmt"
	"io"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// MaxDecompressedBytes bounds what one compressed record batch may inflate
// to, in bytes: 16 MiB, sixteen times the default fetch size
// (DefaultMaxBytes) and far above what a batch of transcript segments and
// audio chunks holds. Without a bound, kafka-go inflates a batch whole in
// memory, so a few kilobytes of gzip could claim gigabytes. A batch beyond
// it is rejected message by message (ErrDecompressedTooLarge): each of its
// offsets goes to Config.Reject (or is returned as a *MalformedError), and
// the partition goes on after it. Each try inflates at most this much, in a
// buffer kafka-go grows by doubling (so at most twice this per partition
// being fetched), and costs its partition about 2 s per offset (kafka-go
// waits for the rest of a batch it failed to inflate).
//
// kafka-go decodes batches with the codecs of its global compress.Codecs
// table; this package replaces them, once, when it is loaded, with bounded
// ones, so the bound holds for every kafka-go reader of the process.
const MaxDecompressedBytes = 16 << 20

// ErrDecompressedTooLarge is wrapped by the *MalformedError of a message
// whose record batch inflates beyond MaxDecompressedBytes.
var ErrDecompressedTooLarge = fmt.Errorf("record batch inflates beyond %d bytes (kafka.MaxDecompressedBytes)", MaxDecompressedBytes)

func init() {
	for i, c := range compress.Codecs {
		if c != nil {
			compress.Codecs[i] = boundedCodec{Codec: c, limit: MaxDecompressedBytes}
		}
	}
}

// boundedCodec is a codec whose readers fail beyond limit bytes.
type boundedCodec struct {
	compress.Codec
	limit int64
}

// NewReader returns a reader of r's decompressed bytes that fails with
// ErrDecompressedTooLarge after limit bytes.
func (c boundedCodec) NewReader(r io.Reader) io.ReadCloser {
	return &boundedReader{rc: c.Codec.NewReader(r), src: r, left: c.limit}
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
