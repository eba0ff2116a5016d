package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Config configures a Source. A zero duration or count means the default.
type Config struct {
	// Brokers are the bootstrap host:port addresses. Required.
	Brokers []string
	// Topic is the topic of transcript segments, keyed by stream id.
	// Required.
	Topic string
	// GroupID is the consumer group; the processes of one group share the
	// partitions of the topic. Required.
	GroupID string
	// StartAtEnd makes a group without committed offsets start at the end
	// of each partition instead of the beginning. Default false.
	StartAtEnd bool
	// MaxUnacked bounds the messages of one partition fetched but not yet
	// committed: at the bound that partition's fetch waits, while the other
	// partitions go on, so a stream holding back its partition (audio
	// waiting for its transcript) never stops the streams of other
	// partitions. Streams on one partition share its bound. Default
	// DefaultMaxUnacked (10,000; each costs about 64 bytes here, the
	// decoded item is held by the pipeline).
	MaxUnacked int
	// MaxWait is the longest a fetch waits on the broker for new data.
	// Default 250 ms.
	MaxWait time.Duration
	// MaxBytes bounds one fetch response, in bytes. Default 1 MiB.
	MaxBytes int
	// HeartbeatInterval is the group heartbeat period. Default 3 s.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the group waits for a silent member
	// before it gives its partitions to others. Default 30 s.
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a rebalance waits for members to
	// rejoin. Default 30 s.
	RebalanceTimeout time.Duration
	// MaxDecompressedBytes bounds a message, key and value, after
	// decompression, and so the memory a compressed record batch may claim
	// (in bytes): a message above it is malformed
	// (ErrDecompressedTooLarge). A batch beyond it is inflated by kafka-go
	// once, up to the bound, then streamed record by record from its raw
	// bytes: the messages within the bound are delivered, each above it is
	// rejected, and the offsets after BatchInflateFactor times the bound
	// inflated are rejected too. Default DefaultMaxDecompressedBytes
	// (16 MiB).
	MaxDecompressedBytes int
	// MaxTextBytes bounds a segment's text, in bytes; a longer one is
	// malformed. Default event.DefaultMaxTextBytes.
	MaxTextBytes int
	// Security is the TLS and SASL of the connections to the brokers.
	// Default: plaintext, no authentication.
	Security kafkasec.Config
	// Reject, when set, receives each malformed message before its offset
	// counts as handled, typically to write it to a dead-letter topic. While
	// it fails, Read returns its error and tries the same message again on
	// the next call, so a malformed message is committed only once Reject
	// took it. It is called from Read's goroutine. Default nil: Read
	// returns the *MalformedError and the message counts as handled.
	Reject func(ctx context.Context, m *MalformedError) error
}

// The defaults of Config.
const (
	// DefaultMaxUnacked is the default bound on the fetched, uncommitted
	// messages of one partition: above the aligner's default per-stream
	// buffer (4,096 media items), so that a stream whose audio waits for
	// its transcript overflows the aligner's buffer (counted drops) before
	// it fills its partition's bound.
	DefaultMaxUnacked = 10000
	// DefaultMaxWait is the default longest fetch wait; it bounds how long
	// Close and a rebalance wait on an idle fetch.
	DefaultMaxWait = 250 * time.Millisecond
	// DefaultMaxBytes is the default bound on a fetch response, in bytes.
	DefaultMaxBytes = 1 << 20
	// DefaultHeartbeatInterval is the default group heartbeat period.
	DefaultHeartbeatInterval = 3 * time.Second
	// DefaultSessionTimeout is the default group session timeout.
	DefaultSessionTimeout = 30 * time.Second
	// DefaultRebalanceTimeout is the default group rebalance timeout.
	DefaultRebalanceTimeout = 30 * time.Second
	// readBatchTimeout bounds the read of each message of a fetched batch
	// (kafka-go's default is 10 s): a batch that inflates beyond
	// MaxDecompressedBytes costs its partition this long, as kafka-go
	// then waits for bytes the failed codec already consumed. 2 s
	// still reads a 1 MiB fetch at 0.5 MB/s.
	readBatchTimeout = 2 * time.Second
)

// heartbeatInterval returns HeartbeatInterval, or DefaultHeartbeatInterval
// when unset.
func (c Config) heartbeatInterval() time.Duration {
	return cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
}

// sessionTimeout returns SessionTimeout, or DefaultSessionTimeout when unset.
func (c Config) sessionTimeout() time.Duration {
	return cmp.Or(c.SessionTimeout, DefaultSessionTimeout)
}

// Validate checks that brokers, topic and group are set, that no count or
// duration is negative, and that the heartbeat is shorter than the session.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka: no brokers")
	case c.Topic == "":
		return errors.New("kafka: no topic")
	case c.GroupID == "":
		return errors.New("kafka: no group id")
	case c.MaxUnacked < 0 || c.MaxBytes < 0 || c.MaxTextBytes < 0 || c.MaxDecompressedBytes < 0:
		return errors.New("kafka: negative MaxUnacked, MaxBytes, MaxTextBytes or MaxDecompressedBytes")
	case c.MaxWait < 0 || c.HeartbeatInterval < 0 || c.SessionTimeout < 0 || c.RebalanceTimeout < 0:
		return errors.New("kafka: negative duration")
	}
	if err := c.Security.Validate(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if hb, st := c.heartbeatInterval(), c.sessionTimeout(); hb >= st {
		return fmt.Errorf("kafka: heartbeat interval %v not below session timeout %v", hb, st)
	}
	return nil
}

// ErrKeyMismatch is wrapped by a *MalformedError for a message whose key is
// set and differs from its segment's stream id: it may sit on another
// stream's partition, which breaks the per-stream order.
var ErrKeyMismatch = errors.New("message key is not the stream id")

// MalformedError reports a message its Decoder refused. Without
// Config.Reject the source has already counted it as handled: the caller
// dead-letters it from the fields here.
type MalformedError struct {
	// Topic is the message's topic.
	Topic string
	// Partition is the message's partition.
	Partition int
	// Offset is the message's offset in its partition.
	Offset int64
	// Key is the message's key, normally the stream id.
	Key []byte
	// Value is the message's value, the bytes that failed to decode.
	Value []byte
	// Err is the reason: the Decoder's error (a *event.FieldError for
	// segments), ErrKeyMismatch, or ErrDecompressedTooLarge (then Value
	// is empty).
	Err error
}

// Error returns "kafka: malformed message <topic>/<partition>@<offset>:
// <reason>".
func (e *MalformedError) Error() string {
	return fmt.Sprintf("kafka: malformed message %s/%d@%d: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the reason.
func (e *MalformedError) Unwrap() error { return e.Err }

// Decoder decodes the value of a message into an item and returns the
// item's stream id, which must match the message key when the key is set.
// An error makes the message malformed; it should name the field at fault.
// A Decoder is called from Read's goroutine only.
type Decoder[T any] func(value []byte) (item T, streamID string, err error)

// Source is a pipeline.Source of items decoded from the messages of a
// topic, read as a member of a consumer group: transcript segments (New) or
// anything a Decoder makes (NewDecoding). As the contract says, Connect,
// Read and Close are not called concurrently, while the AckFuncs it returns
// may be called from any goroutine.
//
// It runs on kafka-go's ConsumerGroup: each generation of the group hands
// it partitions, which it fetches from their own readers until the
// generation ends, and it commits with that generation only the partitions
// assigned in it. A partition that goes to another member is never
// committed by this one afterwards.
type Source[T any] struct {
	cfg Config
	dec Decoder[T]

	cg     *kafkago.ConsumerGroup
	dialer *kafkago.Dialer // with the TLS and SASL of Config.Security
	closed bool
	wg     sync.WaitGroup // run and the goroutines of the generations
	msgs   chan fetched   // from the fetchers of the current generation
	rawMu  sync.Mutex
	raw    *kgo.Client // reads the headers of batches that inflate beyond the bound; made on first use
	// held is a malformed message whose Reject failed, with its entry; the
	// next Read offers it to Reject again before fetching.
	held      *MalformedError
	heldEntry *entry

	commitMu sync.Mutex // serialises commits and the end of a generation
	mu       sync.Mutex
	gen      *kafkago.Generation // the current generation; nil between generations
	ready    chan struct{}       // closed while gen is set, and after Close
	parts    map[int]*partition  // the partitions of the last generation
}

var _ pipeline.Source[event.Segment] = (*Source[event.Segment])(nil)

// partition tracks the fetched, not yet committed messages of one partition
// while this member owns it, over the generations that assign it here in a
// row.
type partition struct {
	pending []*entry // fetched, not committed, in offset order
	next    int64    // the offset to fetch next, or FirstOffset or LastOffset
	lag     int64    // the high-water mark minus next, at the last fetch
	// slots holds one token per message fetched and not committed (or
	// dropped); its capacity is Config.MaxUnacked.
	slots chan struct{}
	// stalled is the lowest pending entry acknowledged with a failure:
	// the partition is committed no further until a rebalance or a
	// restart delivers it again. Nil when none.
	stalled *entry
}

type entry struct {
	offset int64
	p      *partition
	acked  bool
	failed error // the failure it was acknowledged with, if any
	once   sync.Once
}

// fetched is a message, or an error, that a fetcher of generation gen (nil
// for a group error) hands to Read. A message holds a slot of p.
type fetched struct {
	m kafkago.Message
	// bad, when set, is why m could not be read (its value is empty).
	bad error
	err error
	gen *kafkago.Generation
	p   *partition
}

// New returns a source of transcript segments, decoded by an
// event.SegmentDecoder with Config.MaxTextBytes; Connect joins the group.
func New(cfg Config) (*Source[event.Segment], error) {
	dec := event.SegmentDecoder{MaxTextBytes: cfg.MaxTextBytes}
	return NewDecoding(cfg, func(value []byte) (event.Segment, string, error) {
		seg, err := dec.Decode(value)
		return seg, seg.StreamID, err
	})
}

// NewDecoding returns a source of the items dec decodes; Connect joins the
// group.
func NewDecoding[T any](cfg Config, dec Decoder[T]) (*Source[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Source[T]{
		cfg:   cfg,
		dec:   dec,
		msgs:  make(chan fetched),
		ready: make(chan struct{}),
		parts: make(map[int]*partition),
	}, nil
}

// Connect joins the group, the first time it is called; kafka-go rejoins
// and reconnects in the background, so later calls do nothing. It fails
// after Close.
func (s *Source[T]) Connect(context.Context) error {
	if s.closed {
		return errors.New("kafka: source closed")
	}
	if s.cg != nil {
		return nil
	}
	start := kafkago.FirstOffset
	if s.cfg.StartAtEnd {
		start = kafkago.LastOffset
	}
	d, err := s.cfg.Security.Dialer(0)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                s.cfg.GroupID,
		Brokers:           s.cfg.Brokers,
		Dialer:            d,
		Topics:            []string{s.cfg.Topic},
		HeartbeatInterval: s.cfg.heartbeatInterval(),
		SessionTimeout:    s.cfg.sessionTimeout(),
		RebalanceTimeout:  cmp.Or(s.cfg.RebalanceTimeout, DefaultRebalanceTimeout),
		StartOffset:       start,
	})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	s.cg, s.dialer = cg, d
	setCodecLimit(s, s.maxDecompressed())
	s.wg.Go(s.run)
	return nil
}

// maxDecompressed returns MaxDecompressedBytes, or
// DefaultMaxDecompressedBytes when unset.
func (s *Source[T]) maxDecompressed() int64 {
	return int64(cmp.Or(s.cfg.MaxDecompressedBytes, DefaultMaxDecompressedBytes))
}

// run takes each generation of the group in turn until Close. An error
// joining the group goes to a Read that waits, if any; kafka-go retries
// with back-off.
func (s *Source[T]) run() {
	for {
		gen, err := s.cg.Next(context.Background())
		switch {
		case errors.Is(err, kafkago.ErrGroupClosed):
			return
		case errors.Is(err, kafkago.RebalanceInProgress):
		case err != nil:
			select {
			case s.msgs <- fetched{err: fmt.Errorf("kafka: join group %s: %w", s.cfg.GroupID, s.cfg.Security.Explain(s.cfg.Brokers, err))}:
			default:
			}
		default:
			s.start(gen, func(ctx context.Context) { s.serve(ctx, gen) })
		}
	}
}

// start runs fn for the lifetime of gen. kafka-go ends gen when fn returns,
// and joins the next generation only once every fn started before the end
// returned; one started after the end runs at once with ctx done.
func (s *Source[T]) start(gen *kafkago.Generation, fn func(ctx context.Context)) {
	s.wg.Add(1)
	gen.Start(func(ctx context.Context) {
		defer s.wg.Done()
		fn(ctx)
	})
}

// serve runs gen: it makes gen the current generation, commits what was
// acknowledged but not committed before (a commit failed, or waited for the
// rebalance), starts a fetcher per partition, then waits for gen to end and
// ends it for the commits. kafka-go rejoins the group only once serve
// returns, so no commit of gen reaches the broker after this member left
// it, and the serves of two generations never overlap.
func (s *Source[T]) serve(ctx context.Context, gen *kafkago.Generation) {
	if ctx.Err() != nil {
		return // gen ended before it began here
	}
	parts, starts := s.begin(gen)
	s.commitMu.Lock()
	for id, p := range parts {
		// On failure the entries stay acknowledged; the next commit
		// of the partition takes them.
		_, _ = s.commitLocked(id, p)
	}
	s.commitMu.Unlock()
	for id, offset := range starts {
		p := parts[id]
		s.start(gen, func(ctx context.Context) { s.fetchPartition(ctx, gen, id, p, offset) })
	}
	<-ctx.Done()
	s.commitMu.Lock()
	s.mu.Lock()
	s.gen, s.ready = nil, make(chan struct{})
	s.mu.Unlock()
	s.commitMu.Unlock()
}

// begin makes gen the current generation and returns its partitions and
// the offset to fetch each from. A partition it assigns anew is fetched
// from the group's committed offset. One this member owned in the previous
// generation too keeps its messages from the committed offset on and is
// fetched after the last one it returned, so none is returned twice; the
// messages below the committed offset were committed, by this member or by
// an owner in between, and are dropped. When one of its messages failed
// (see settle), it is fetched again from that message, which is delivered
// again. A partition no longer assigned is forgotten: its acknowledgements
// commit nothing, and its new owner fetches its unacknowledged messages
// again.
func (s *Source[T]) begin(gen *kafkago.Generation) (parts map[int]*partition, starts map[int]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, starts = make(map[int]*partition), make(map[int]int64)
	for _, a := range gen.Assignments[s.cfg.Topic] {
		p := s.parts[a.ID]
		if p == nil {
			p = &partition{next: a.Offset, slots: make(chan struct{}, cmp.Or(s.cfg.MaxUnacked, DefaultMaxUnacked))}
		} else {
			n := 0
			for n < len(p.pending) && p.pending[n].offset < a.Offset {
				n++
			}
			p.release(n)
			p.pending = p.pending[n:]
			p.next = max(p.next, a.Offset)
			if f := p.stalled; f != nil && f.offset >= a.Offset {
				// Deliver the failed message again, and what follows it.
				k := 0
				for k < len(p.pending) && p.pending[k].offset < f.offset {
					k++
				}
				p.release(len(p.pending) - k)
				p.pending = p.pending[:k]
				p.next = f.offset
			}
			p.stalled = nil
			delete(s.parts, a.ID)
		}
		parts[a.ID], starts[a.ID] = p, p.next
	}
	s.parts, s.gen = parts, gen
	close(s.ready)
	return parts, starts
}

// fetchPartition hands the messages of partition part, tracked as p, from
// offset on to Read until gen ends. Each message first takes a slot of p,
// so the fetch waits while p has Config.MaxUnacked messages uncommitted. A
// record batch that inflates beyond MaxDecompressedBytes is streamed
// record by record (see streamBatch): each message within the bound is
// handed on, each above it as bad, without its value, and the fetch goes on
// after the batch.
func (s *Source[T]) fetchPartition(ctx context.Context, gen *kafkago.Generation, part int, p *partition, offset int64) {
	// next is the absolute offset to fetch next: a bad batch's offsets
	// are known only from it.
	next, ok := s.resolveOffset(ctx, part, offset)
	if !ok {
		return
	}
	r := s.newReader(part, next)
	defer func() { _ = r.Close() }() // a reader that only fetched: nothing to flush
	for {
		m, err := r.FetchMessage(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrDecompressedTooLarge) {
			// The batch holding next cannot be read whole: its records
			// from next on are streamed out of it, each within the bound
			// handed on, each above it rejected (see streamBatch), and
			// the fetch goes on after it. Should the batch not be had,
			// next alone is rejected, and the batch's next offset fails
			// the same way. The reader is closed at once, as it would
			// otherwise fetch and inflate the batch again after a
			// back-off.
			_ = r.Close()
			raw, hwm, herr := s.badBatch(ctx, part, next)
			var batch []byte
			var last int64
			if herr == nil {
				batch, last, herr = findBatch(raw, next)
			}
			if herr != nil {
				err = fmt.Errorf("%w (the end of its batch is unknown, so the next offset is tried alone: %w)", err, herr)
				if !s.sendBad(ctx, gen, p, kafkago.Message{Topic: s.cfg.Topic, Partition: part, Offset: next}, err) {
					return
				}
				next++
			} else {
				var ok bool
				next, ok = streamBatch(batch, last, next, hwm, s.maxDecompressed(), func(m kafkago.Message, bad error) bool {
					m.Topic, m.Partition, m.HighWaterMark = s.cfg.Topic, part, hwm
					return s.sendBad(ctx, gen, p, m, bad)
				})
				if !ok {
					return
				}
			}
			r = s.newReader(part, next)
			continue
		}
		if err != nil {
			if !s.send(ctx, fetched{err: fmt.Errorf("kafka: fetch %s/%d: %w", s.cfg.Topic, part, s.cfg.Security.Explain(s.cfg.Brokers, err)), gen: gen}) {
				return
			}
			continue
		}
		next = m.Offset + 1
		var bad error
		if int64(len(m.Key)+len(m.Value)) > s.maxDecompressed() {
			// Inflated within another source's bound (see
			// DefaultMaxDecompressedBytes), beyond this one's.
			m.Value, bad = nil, ErrDecompressedTooLarge
		}
		if !s.sendBad(ctx, gen, p, m, bad) {
			return
		}
	}
}

// sendBad hands message m of partition p, read in gen, to Read, with bad
// when it could not be read, once p has a free slot; false when ctx ended
// first.
func (s *Source[T]) sendBad(ctx context.Context, gen *kafkago.Generation, p *partition, m kafkago.Message, bad error) bool {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if !s.send(ctx, fetched{m: m, bad: bad, gen: gen, p: p}) {
		p.release(1)
		return false
	}
	return true
}

// newReader returns a reader of partition part from the absolute offset
// next on.
func (s *Source[T]) newReader(part int, next int64) *kafkago.Reader {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   s.cfg.Brokers,
		Topic:     s.cfg.Topic,
		Partition: part,
		Dialer:    s.dialer,
		MaxWait:   cmp.Or(s.cfg.MaxWait, DefaultMaxWait),
		MaxBytes:  cmp.Or(s.cfg.MaxBytes, DefaultMaxBytes),
		// After a batch fails to inflate, kafka-go discards what it
		// believes is left of the response and waits for this deadline.
		ReadBatchTimeout: readBatchTimeout,
	})
	_ = r.SetOffset(next) // fails only on a closed reader
	return r
}

// send hands f to Read; false when ctx ended first.
func (s *Source[T]) send(ctx context.Context, f fetched) bool {
	select {
	case s.msgs <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// resolveOffset returns offset, or, when it is kafkago.FirstOffset or
// LastOffset, the partition's first or last offset, asked of its leader
// until it answers or ctx ends (ok false). Each failure goes to a Read that
// waits, if any, like a failure to join the group: a failure queued for a
// later Read would report a broker that was away as away after it came
// back.
func (s *Source[T]) resolveOffset(ctx context.Context, part int, offset int64) (resolved int64, ok bool) {
	if offset >= 0 {
		return offset, true
	}
	for attempt := 0; ; attempt++ {
		resolved, err := s.readOffset(ctx, part, offset)
		if err == nil {
			return resolved, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		select {
		case s.msgs <- fetched{err: fmt.Errorf("kafka: offsets of %s/%d: %w", s.cfg.Topic, part, s.cfg.Security.Explain(s.cfg.Brokers, err))}:
		default:
		}
		select {
		case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, time.Second)):
		case <-ctx.Done():
			return 0, false
		}
	}
}

// readOffset asks the leader of partition part for its first offset
// (kafkago.FirstOffset) or last offset (kafkago.LastOffset).
func (s *Source[T]) readOffset(ctx context.Context, part int, which int64) (int64, error) {
	var errs []error
	for _, b := range s.cfg.Brokers {
		conn, err := s.dialer.DialLeader(ctx, "tcp", b, s.cfg.Topic, part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // never fails on a live conn
		first, last, err := conn.ReadOffsets()
		_ = conn.Close() // a connection that only read offsets
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if which == kafkago.FirstOffset {
			return first, nil
		}
		return last, nil
	}
	return 0, errors.Join(errs...)
}

// Read fetches the next message and decodes it. It blocks until a message
// arrives (from a partition below its MaxUnacked bound) or ctx is done. A message that is not a valid segment is handed to Config.Reject
// when set (Read then goes on with the next message, or returns Reject's
// error and offers the same message again on the next call); without
// Reject, Read returns it as a *MalformedError and the next Read goes on
// after it. Read returns pipeline.ErrNotConnected before Connect and after
// Close, and ctx.Err() when ctx is done.
func (s *Source[T]) Read(ctx context.Context) (T, pipeline.AckFunc, error) {
	if s.cg == nil || s.closed {
		return *new(T), nil, pipeline.ErrNotConnected
	}
	if s.held != nil {
		if err := s.reject(ctx, s.held, s.heldEntry); err != nil {
			return *new(T), nil, err
		}
	}
	for {
		seg, ack, err := s.fetch(ctx)
		if errors.Is(err, errStale) {
			continue
		}
		var merr *MalformedError
		if s.cfg.Reject == nil || !errors.As(err, &merr) {
			return seg, ack, err
		}
	}
}

// errStale is fetch's report of a message of a generation that ended; Read
// goes on with the next one.
var errStale = errors.New("kafka: message of an ended generation")

// fetch reads one message; a malformed one goes to reject when
// Config.Reject is set, and is returned as a *MalformedError.
func (s *Source[T]) fetch(ctx context.Context) (T, pipeline.AckFunc, error) {
	var f fetched
	select {
	case f = <-s.msgs:
	case <-ctx.Done():
		return *new(T), nil, ctx.Err()
	}
	if f.err != nil {
		return *new(T), nil, f.err
	}
	m := f.m
	e := s.track(f)
	if e == nil {
		f.p.release(1)
		return *new(T), nil, errStale
	}
	item, stream, err := *new(T), "", f.bad
	if err == nil {
		item, stream, err = s.dec(m.Value)
	}
	if err == nil && len(m.Key) > 0 && string(m.Key) != stream {
		err = fmt.Errorf("%w: key %q, stream_id %q", ErrKeyMismatch, m.Key, stream)
	}
	if err != nil {
		merr := &MalformedError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Err: err}
		if s.cfg.Reject != nil {
			if rerr := s.reject(ctx, merr, e); rerr != nil {
				return *new(T), nil, rerr
			}
			return *new(T), nil, merr
		}
		if cerr := s.settle(ctx, m.Partition, e, nil); cerr != nil {
			return *new(T), nil, errors.Join(merr, cerr)
		}
		return *new(T), nil, merr
	}
	ack := func(ctx context.Context, failure error) error {
		return s.settle(ctx, m.Partition, e, failure)
	}
	return item, ack, nil
}

// reject hands a malformed message to Config.Reject and settles it once
// Reject took it; on failure it holds the message for the next Read.
func (s *Source[T]) reject(ctx context.Context, m *MalformedError, e *entry) error {
	if err := s.cfg.Reject(ctx, m); err != nil {
		s.held, s.heldEntry = m, e
		return fmt.Errorf("kafka: reject %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
	}
	s.held, s.heldEntry = nil, nil
	return s.settle(ctx, m.Partition, e, nil)
}

// track records a fetched message as pending on its partition and returns
// its entry, or nil when its generation ended: its partition may be another
// member's now, and otherwise the next generation fetches it again.
func (s *Source[T]) track(f fetched) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[f.m.Partition]
	if f.gen != s.gen || p != f.p {
		return nil
	}
	p.next = f.m.Offset + 1
	if f.bad == nil {
		p.lag = f.m.HighWaterMark - p.next
	}
	e := &entry{offset: f.m.Offset, p: p}
	p.pending = append(p.pending, e)
	return e
}

// release returns n slots of p.
func (p *partition) release(n int) {
	for range n {
		<-p.slots
	}
}

// settle acknowledges one message, once, and commits its partition up to
// the highest offset below which everything is acknowledged, unless the
// partition went to another member meanwhile. While the group rebalances it
// waits for the next generation, or until ctx is done; the commit itself is
// bounded by kafka-go's coordinator timeout (5 s), not by ctx. A failure
// (an item that failed with no record of it in a dead-letter topic) is not
// committed: the partition is committed no further, Stalled reports it, and
// the message is delivered again after a rebalance or a restart; settle
// then returns an error saying so.
func (s *Source[T]) settle(ctx context.Context, part int, e *entry, failure error) error {
	first := false
	e.once.Do(func() { first = true })
	if !first {
		return nil
	}
	s.mu.Lock()
	if s.parts[part] != e.p {
		s.mu.Unlock()
		return nil
	}
	if failure != nil {
		e.failed = failure
		if st := e.p.stalled; st == nil || e.offset < st.offset {
			e.p.stalled = e
		}
		s.mu.Unlock()
		return fmt.Errorf("kafka: %s/%d@%d not committed, the partition stops there until a restart or a rebalance delivers it again: %w",
			s.cfg.Topic, part, e.offset, failure)
	}
	e.acked = true
	s.mu.Unlock()
	for {
		s.mu.Lock()
		ready := s.ready
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.commitMu.Lock()
		done, err := s.commitLocked(part, e.p)
		s.commitMu.Unlock()
		if done {
			return err
		}
	}
}

// commitLocked commits partition part, tracked as p, up to the highest
// offset below which everything is acknowledged, with the current
// generation; done is false when there is none (the group rebalances). A
// partition this member no longer owns is not committed. The caller holds
// commitMu, so commits never go backwards.
func (s *Source[T]) commitLocked(part int, p *partition) (done bool, err error) {
	s.mu.Lock()
	gen := s.gen
	if s.parts[part] != p {
		s.mu.Unlock()
		return true, nil
	}
	if gen == nil {
		s.mu.Unlock()
		return false, nil
	}
	n := 0
	for n < len(p.pending) && p.pending[n].acked {
		n++
	}
	if n == 0 {
		s.mu.Unlock()
		return true, nil
	}
	next := p.pending[n-1].offset + 1
	s.mu.Unlock()

	if err := gen.CommitOffsets(map[string]map[int]int64{s.cfg.Topic: {part: next}}); err != nil {
		return true, fmt.Errorf("kafka: commit %s/%d@%d: %w", s.cfg.Topic, part, next, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only the entries committed leave; others may have been acked
	// meanwhile and are committed by their own settle.
	k := 0
	for k < len(p.pending) && p.pending[k].offset < next {
		k++
	}
	p.pending = p.pending[k:]
	p.release(k)
	return true, nil
}

// Close leaves the group and closes the connections. Acknowledgements after
// Close commit nothing, so the segments are delivered again.
func (s *Source[T]) Close(context.Context) error {
	if s.cg == nil || s.closed {
		return nil
	}
	s.closed = true
	err := s.cg.Close()
	s.wg.Wait()
	s.closeRaw()
	setCodecLimit(s, 0)
	// No generation is left: the acknowledgements waiting for one, and
	// those to come, commit nothing.
	s.mu.Lock()
	s.parts = nil
	close(s.ready)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("kafka: close: %w", err)
	}
	return nil
}

// Stalled returns an error naming each partition whose commits stopped at
// a message acknowledged with a failure (see settle), with the failure, or
// nil when none did. Safe for concurrent use.
func (s *Source[T]) Stalled() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(s.parts)) {
		if e := s.parts[id].stalled; e != nil {
			errs = append(errs, fmt.Errorf("kafka: %s/%d stopped at offset %d, which failed with no dead letter written (delivered again after a restart or a rebalance): %w",
				s.cfg.Topic, id, e.offset, e.failed))
		}
	}
	return errors.Join(errs...)
}

// Lag returns how many messages of the partitions this member reads were
// not fetched yet, as of the last message fetched from each (the high-water
// mark minus the next offset; 0 before Connect). Safe for concurrent use.
func (s *Source[T]) Lag() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lag int64
	for _, p := range s.parts {
		lag += p.lag
	}
	return lag
}
