package kafka

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// BatchInflateFactor bounds what the source inflates of a record batch that
// kafka-go could not read (one inflating beyond Config.MaxDecompressedBytes)
// while it streams the batch's records out of it: this many times
// MaxDecompressedBytes (64 MiB for the default bound). The offsets the
// stream did not reach by then are rejected as ErrDecompressedTooLarge, so
// that a batch of many bombs costs bounded CPU as well as bounded memory.
const BatchInflateFactor = 4

// errBatchTooLarge is why the offsets of a batch that inflates beyond
// BatchInflateFactor times the bound, from the first one not streamed, are
// rejected.
var errBatchTooLarge = fmt.Errorf("%w: its record batch inflates beyond %d times the bound (kafka.BatchInflateFactor), and this offset comes after that point",
	ErrDecompressedTooLarge, BatchInflateFactor)

// Kafka's record batch of magic 2: the header fields this package reads
// (https://kafka.apache.org/documentation/#recordbatch).
const (
	batchAttributes  = 21 // int16; bits 0-2 the compression codec, bit 5 a control batch
	batchNumRecords  = 57 // int32
	batchRecords     = 61 // where the records begin
	attrCodecMask    = 0x07
	attrControlBatch = 0x20
)

// headerCost is what one header of a record holds in memory beyond its key
// and value bytes: it counts against the bound, so that a record of many
// empty headers is bounded too.
const headerCost = int64(unsafe.Sizeof(kafkago.Header{}))

// streamBatch streams the records of batch, a whole record batch whose last
// offset is last (see findBatch), out of a decompressor that stops after
// BatchInflateFactor times limit bytes, and calls emit with each record at
// or after offset next and at or before last (see lastToRead: capped below
// hwm, the high-water mark): a record whose key, value and headers take at most limit
// bytes with its key, value and headers (not its timestamp, which the
// source does not read); a larger one, whose bytes are read and discarded
// (never held), with only its offset and ErrDecompressedTooLarge. When the
// records cannot be read further (the inflation bound, a malformed record,
// a batch of magic 0 or 1, a control batch), each offset from the first not
// yet emitted to the last is emitted as bad, with why. It returns the offset
// after the batch, or, when emit returns false, false.
func streamBatch(batch []byte, last, next, hwm, limit int64, emit func(m kafkago.Message, bad error) bool) (int64, bool) {
	last = lastToRead(last, next, hwm)
	from := next // the first offset not emitted
	rest := func(why error) (int64, bool) {
		for ; from <= last; from++ {
			if !emit(kafkago.Message{Offset: from}, why) {
				return from, false
			}
		}
		return last + 1, true
	}
	base := int64(binary.BigEndian.Uint64(batch[0:8]))
	if batch[16] != 2 || len(batch) < batchRecords {
		return rest(ErrDecompressedTooLarge)
	}
	attrs := binary.BigEndian.Uint16(batch[batchAttributes:])
	if attrs&attrControlBatch != 0 {
		return rest(ErrDecompressedTooLarge)
	}
	count := int32(binary.BigEndian.Uint32(batch[batchNumRecords:]))
	total := int64(math.MaxInt64)
	if limit <= math.MaxInt64/BatchInflateFactor {
		total = BatchInflateFactor * limit
	}
	var src io.Reader = bytes.NewReader(batch[batchRecords:])
	if codec := attrs & attrCodecMask; codec != 0 {
		var c compress.Codec
		if int(codec) < len(compress.Codecs) {
			c = compress.Codecs[codec]
		}
		if c == nil {
			return rest(fmt.Errorf("%w (record batch at offset %d: unknown compression codec %d)", ErrDecompressedTooLarge, base, codec))
		}
		if b, ok := c.(boundedCodec); ok {
			c = b.Codec
		}
		rc := boundedCodec{Codec: c, limit: total}.NewReader(src)
		defer func() { _ = rc.Close() }()
		src = rc
	}
	br := bufio.NewReader(src)
	for i := int32(0); i < count; i++ {
		rec, err := readRecord(br, limit)
		if err != nil {
			if errors.Is(err, ErrDecompressedTooLarge) {
				return rest(errBatchTooLarge)
			}
			return rest(fmt.Errorf("%w (record batch at offset %d, record %d: %w)", ErrDecompressedTooLarge, base, i, err))
		}
		off := base + rec.offsetDelta
		if off < from {
			continue // before the offset asked, or out of order
		}
		if off > last {
			break
		}
		var bad error
		m := kafkago.Message{Offset: off}
		if rec.tooLarge {
			bad = ErrDecompressedTooLarge
		} else {
			m.Key, m.Value, m.Headers = rec.key, rec.value, rec.headers
		}
		if !emit(m, bad) {
			return off, false
		}
		from = off + 1
	}
	return last + 1, true
}

// record is a record of a batch of magic 2, read by readRecord.
type record struct {
	offsetDelta int64
	key, value  []byte
	headers     []kafkago.Header
	tooLarge    bool // key, value and headers beyond the bound: not read
}

// readRecord reads one record of a batch of magic 2 from r: its length, then
// attributes, timestamp delta, offset delta, key, value and headers (varints
// and varint-prefixed bytes, https://kafka.apache.org/documentation/#record).
// It allocates at most limit bytes for the key, value and headers: a record
// above that is read to its end and discarded, and comes back tooLarge, with
// its offset delta. An error wrapping ErrDecompressedTooLarge is the
// decompressor's bound.
func readRecord(r *bufio.Reader, limit int64) (record, error) {
	var rec record
	length, err := binary.ReadVarint(r)
	if err != nil {
		return rec, fmt.Errorf("length: %w", eof(err))
	}
	if length < 0 {
		return rec, fmt.Errorf("negative length %d", length)
	}
	lr := &limitedReader{r: r, n: length}
	if _, err := lr.ReadByte(); err != nil { // attributes, unused
		return rec, fmt.Errorf("attributes: %w", err)
	}
	if _, err = binary.ReadVarint(lr); err != nil {
		return rec, fmt.Errorf("timestamp delta: %w", err)
	}
	if rec.offsetDelta, err = binary.ReadVarint(lr); err != nil {
		return rec, fmt.Errorf("offset delta: %w", err)
	}
	budget := limit
	// bytesField reads the key (h -2), the value (-1), or header h's key
	// or value (null: may be null, as a value).
	bytesField := func(h int64, null bool) ([]byte, error) {
		n, err := binary.ReadVarint(lr)
		if err != nil {
			return nil, fmt.Errorf("%s length: %w", fieldName(h, null), err)
		}
		if n == -1 && null {
			return nil, nil
		}
		if n < 0 || n > lr.n {
			return nil, fmt.Errorf("%s length %d beyond the record's %d bytes left", fieldName(h, null), n, lr.n)
		}
		if n > budget {
			rec.tooLarge = true
			return nil, nil
		}
		budget -= n
		b := make([]byte, n)
		if _, err := io.ReadFull(lr, b); err != nil {
			return nil, fmt.Errorf("%s: %w", fieldName(h, null), eof(err))
		}
		return b, nil
	}
	if rec.key, err = bytesField(-2, true); err != nil || rec.tooLarge {
		return lr.skip(rec, err)
	}
	if rec.value, err = bytesField(-1, true); err != nil || rec.tooLarge {
		return lr.skip(rec, err)
	}
	headers, err := binary.ReadVarint(lr)
	if err != nil {
		return rec, fmt.Errorf("header count: %w", err)
	}
	if headers < 0 || headers > lr.n {
		return rec, fmt.Errorf("header count %d beyond the record's %d bytes left", headers, lr.n)
	}
	for h := range headers {
		if budget < headerCost {
			rec.tooLarge = true
			return lr.skip(rec, nil)
		}
		budget -= headerCost
		k, err := bytesField(h, false)
		if err != nil || rec.tooLarge {
			return lr.skip(rec, err)
		}
		v, err := bytesField(h, true)
		if err != nil || rec.tooLarge {
			return lr.skip(rec, err)
		}
		rec.headers = append(rec.headers, kafkago.Header{Key: string(k), Value: v})
	}
	if lr.n != 0 {
		return rec, fmt.Errorf("%d bytes after its headers, within its length %d", lr.n, length)
	}
	return rec, nil
}

// fieldName names the field bytesField reads, for its errors.
func fieldName(h int64, null bool) string {
	switch {
	case h == -2:
		return "key"
	case h == -1:
		return "value"
	case null:
		return fmt.Sprintf("header %d value", h)
	}
	return fmt.Sprintf("header %d key", h)
}

// eof turns io.EOF, the end of the batch's records within a record, into
// io.ErrUnexpectedEOF.
func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// limitedReader reads the n bytes of one record from r.
type limitedReader struct {
	r *bufio.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, eof(err)
}

func (l *limitedReader) ReadByte() (byte, error) {
	if l.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := l.r.ReadByte()
	if err == nil {
		l.n--
	}
	return b, eof(err)
}

// skip returns rec and err, when err is set; otherwise it reads the rest of
// the record, rec above the bound, and discards it.
func (l *limitedReader) skip(rec record, err error) (record, error) {
	if err != nil {
		return rec, err
	}
	rec.key, rec.value, rec.headers = nil, nil, nil
	if _, err := io.CopyN(io.Discard, l.r, l.n); err != nil {
		return rec, fmt.Errorf("skipping %d bytes above the bound: %w", l.n, eof(err))
	}
	l.n = 0
	return rec, nil
}
