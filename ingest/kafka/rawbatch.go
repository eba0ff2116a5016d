package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	kgsasl "github.com/segmentio/kafka-go/sasl"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// A record batch that inflates beyond the bound fails inside kafka-go, which
// tells neither where the batch ends nor how many messages it holds. The
// source then asks the partition's leader for the raw, still compressed
// batch (a Fetch from the failed offset with a one-byte limit, which a
// broker answers with the first whole batch, KIP-74) through franz-go's
// protocol client, which leaves record batches undecoded, reads the offset
// of the batch's last message from its header, and streams the batch's
// records out of a bounded decompressor (streamBatch): the memory is that
// of the compressed batch, which the broker's message.max.bytes bounds, and
// of one message within the bound. The fetch then goes on after the batch.

// findBatch returns the first whole record batch of raw (the record
// batches of a Fetch response, in Kafka's wire format) that ends at or after
// offset next, with the offset of its last message. It reads record batches
// of magic 2 (base offset in bytes 0-7, length in 8-11, magic in byte 16,
// last offset delta in 23-26) and the message sets of magic 0 and 1 (whose
// offset, that of a compressed wrapper, is that of its last inner message).
// A truncated last batch, as a broker may send, is skipped.
func findBatch(raw []byte, next int64) (batch []byte, last int64, err error) {
	for len(raw) >= 17 {
		base := int64(binary.BigEndian.Uint64(raw[0:8]))
		length := int64(int32(binary.BigEndian.Uint32(raw[8:12])))
		if length < 5 {
			return nil, 0, fmt.Errorf("record batch at offset %d: length %d below its header", base, length)
		}
		if 12+length > int64(len(raw)) {
			break // a partial batch at the end of the response
		}
		switch magic := raw[16]; magic {
		case 0, 1:
			last = base
		case 2:
			if length < 27-12 {
				return nil, 0, fmt.Errorf("record batch at offset %d: length %d below the magic 2 header", base, length)
			}
			delta := int64(int32(binary.BigEndian.Uint32(raw[23:27])))
			if delta < 0 {
				return nil, 0, fmt.Errorf("record batch at offset %d: negative last offset delta %d", base, delta)
			}
			last = base + delta
			if last < base {
				return nil, 0, fmt.Errorf("record batch at offset %d: last offset delta %d overflows", base, delta)
			}
		default:
			return nil, 0, fmt.Errorf("record batch at offset %d: unknown magic %d", base, magic)
		}
		if last >= next {
			return raw[:12+length], last, nil
		}
		raw = raw[12+length:]
	}
	return nil, 0, fmt.Errorf("no whole record batch holds offset %d", next)
}

// lastToRead returns the offset of the last message to read from a batch
// whose last message is at last, asked for from offset next: last, capped
// below hwm, the partition's high-water mark, and never before next.
func lastToRead(last, next, hwm int64) int64 {
	if hwm > next {
		last = min(last, hwm-1)
	}
	return max(last, next)
}

// rawClient returns the source's franz-go client, made on first use with
// the brokers, TLS and SASL of the configuration; Close closes it.
func (s *Source[T]) rawClient() (*kgo.Client, error) {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	if s.raw != nil {
		return s.raw, nil
	}
	tc, mech, err := s.cfg.Security.Parts()
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(s.cfg.Brokers...)}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(franzSASL{mech}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	s.raw = cl
	return cl, nil
}

// closeRaw closes the franz-go client, if made.
func (s *Source[T]) closeRaw() {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	if s.raw != nil {
		s.raw.Close()
		s.raw = nil
	}
}

// badBatch returns the record batches of partition part from the one that
// holds offset next on, as its leader sends them (still compressed: at
// least that batch, whole, and little more), and the partition's
// high-water mark.
func (s *Source[T]) badBatch(ctx context.Context, part int, next int64) (raw []byte, hwm int64, err error) {
	cl, err := s.rawClient()
	if err != nil {
		return nil, 0, err
	}
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(s.cfg.Topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil {
		return nil, 0, fmt.Errorf("metadata: %w", err)
	}
	leader, topicID := int32(-1), [16]byte{}
	for _, t := range mresp.Topics {
		if t.Topic == nil || *t.Topic != s.cfg.Topic {
			continue
		}
		topicID = t.TopicID
		for _, p := range t.Partitions {
			if p.Partition == int32(part) {
				leader = p.Leader
			}
		}
	}
	if leader < 0 {
		return nil, 0, fmt.Errorf("metadata: no leader for %s/%d", s.cfg.Topic, part)
	}
	freq := kmsg.NewPtrFetchRequest()
	freq.ReplicaID = -1
	freq.MaxBytes = 1 // the broker still sends the first whole batch
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic, ft.TopicID = s.cfg.Topic, topicID
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = int32(part), next, 1
	ft.Partitions = append(ft.Partitions, fp)
	freq.Topics = append(freq.Topics, ft)
	fresp, err := freq.RequestWith(ctx, cl.Broker(int(leader)))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch: %w", err)
	}
	if err := kerr.ErrorForCode(fresp.ErrorCode); err != nil {
		return nil, 0, fmt.Errorf("fetch: %w", err)
	}
	for _, t := range fresp.Topics {
		for _, p := range t.Partitions {
			if p.Partition != int32(part) {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, 0, fmt.Errorf("fetch: %w", err)
			}
			return p.RecordBatches, p.HighWatermark, nil
		}
	}
	return nil, 0, errors.New("fetch: the response has no data of the partition")
}

// franzSASL is a kafka-go SASL mechanism (kafkasec's) as a franz-go one.
type franzSASL struct{ m kgsasl.Mechanism }

func (f franzSASL) Name() string { return f.m.Name() }

func (f franzSASL) Authenticate(ctx context.Context, _ string) (sasl.Session, []byte, error) {
	sm, ir, err := f.m.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return franzSession{ctx: ctx, sm: sm}, ir, nil
}

// franzSession is a kafka-go SASL exchange as a franz-go one.
type franzSession struct {
	ctx context.Context // Authenticate's: franz-go's Challenge takes none, and calls it within Authenticate
	sm  kgsasl.StateMachine
}

func (f franzSession) Challenge(c []byte) (bool, []byte, error) { return f.sm.Next(f.ctx, c) }
