package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
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
	// MaxUnacked bounds the segments read but not yet acknowledged; Read
	// blocks at the bound. Default 1000.
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
	// MaxTextBytes bounds a segment's text, in bytes; a longer one is
	// malformed. Default event.DefaultMaxTextBytes.
	MaxTextBytes int
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
	// DefaultMaxUnacked is the default bound on unacknowledged segments.
	DefaultMaxUnacked = 1000
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
)

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
	case c.MaxUnacked < 0 || c.MaxBytes < 0 || c.MaxTextBytes < 0:
		return errors.New("kafka: negative MaxUnacked, MaxBytes or MaxTextBytes")
	case c.MaxWait < 0 || c.HeartbeatInterval < 0 || c.SessionTimeout < 0 || c.RebalanceTimeout < 0:
		return errors.New("kafka: negative duration")
	}
	if hb, st := cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval), cmp.Or(c.SessionTimeout, DefaultSessionTimeout); hb >= st {
		return fmt.Errorf("kafka: heartbeat interval %v not below session timeout %v", hb, st)
	}
	return nil
}

// ErrKeyMismatch is wrapped by a *MalformedError for a message whose key is
// set and differs from its segment's stream id: it may sit on another
// stream's partition, which breaks the per-stream order.
var ErrKeyMismatch = errors.New("message key is not the stream id")

// errRedelivered is fetch's report of a message this source returned
// already (see track); Read goes on with the next one.
var errRedelivered = errors.New("kafka: message redelivered")

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
	// segments) or ErrKeyMismatch.
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
type Source[T any] struct {
	cfg Config
	dec Decoder[T]

	r      *kafkago.Reader
	closed bool
	slots  chan struct{} // one token per unacknowledged message
	// held is a malformed message whose Reject failed, with its entry; the
	// next Read offers it to Reject again before fetching.
	held      *MalformedError
	heldEntry *entry

	commitMu sync.Mutex // serialises commits, so they never go backwards
	mu       sync.Mutex
	parts    map[int]*partition
}

var _ pipeline.Source[event.Segment] = (*Source[event.Segment])(nil)

// partition tracks the fetched, not yet committed messages of one partition
// in fetch order.
type partition struct {
	gen     int      // bumped when the partition is fetched anew
	pending []*entry // fetched, not committed, in offset order
	last    int64    // the offset fetched last
}

type entry struct {
	offset int64
	gen    int
	acked  bool
	once   sync.Once
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
		slots: make(chan struct{}, cmp.Or(cfg.MaxUnacked, DefaultMaxUnacked)),
		parts: make(map[int]*partition),
	}, nil
}

// Connect creates the group reader, the first time it is called; kafka-go
// joins the group and reconnects in the background, so later calls do
// nothing. It fails after Close.
func (s *Source[T]) Connect(context.Context) error {
	if s.closed {
		return errors.New("kafka: source closed")
	}
	if s.r != nil {
		return nil
	}
	start := kafkago.FirstOffset
	if s.cfg.StartAtEnd {
		start = kafkago.LastOffset
	}
	rc := kafkago.ReaderConfig{
		Brokers:           s.cfg.Brokers,
		GroupID:           s.cfg.GroupID,
		Topic:             s.cfg.Topic,
		MaxWait:           cmp.Or(s.cfg.MaxWait, DefaultMaxWait),
		MaxBytes:          cmp.Or(s.cfg.MaxBytes, DefaultMaxBytes),
		HeartbeatInterval: cmp.Or(s.cfg.HeartbeatInterval, DefaultHeartbeatInterval),
		SessionTimeout:    cmp.Or(s.cfg.SessionTimeout, DefaultSessionTimeout),
		RebalanceTimeout:  cmp.Or(s.cfg.RebalanceTimeout, DefaultRebalanceTimeout),
		StartOffset:       start,
		// Commits are synchronous and explicit: CommitMessages returns
		// once the broker stored the offset.
		CommitInterval: 0,
	}
	if err := rc.Validate(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	r := kafkago.NewReader(rc)
	s.mu.Lock()
	s.r = r
	s.mu.Unlock()
	return nil
}

// Read fetches the next message and decodes it. It blocks while MaxUnacked
// segments await acknowledgement, and until a message arrives or ctx is
// done. A message that is not a valid segment is handed to Config.Reject
// when set (Read then goes on with the next message, or returns Reject's
// error and offers the same message again on the next call); without
// Reject, Read returns it as a *MalformedError and the next Read goes on
// after it. Read returns pipeline.ErrNotConnected before Connect and after
// Close, and ctx.Err() when ctx is done.
func (s *Source[T]) Read(ctx context.Context) (T, pipeline.AckFunc, error) {
	if s.r == nil || s.closed {
		return *new(T), nil, pipeline.ErrNotConnected
	}
	if s.held != nil {
		if err := s.reject(ctx, s.held, s.heldEntry); err != nil {
			return *new(T), nil, err
		}
	}
	for {
		seg, ack, err := s.fetch(ctx)
		if errors.Is(err, errRedelivered) {
			continue
		}
		var merr *MalformedError
		if s.cfg.Reject == nil || !errors.As(err, &merr) {
			return seg, ack, err
		}
	}
}

// fetch reads one message; a malformed one goes to reject when
// Config.Reject is set, and is returned as a *MalformedError.
func (s *Source[T]) fetch(ctx context.Context) (T, pipeline.AckFunc, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return *new(T), nil, ctx.Err()
	}
	m, err := s.r.FetchMessage(ctx)
	if err != nil {
		<-s.slots
		switch {
		case ctx.Err() != nil:
			return *new(T), nil, ctx.Err()
		case errors.Is(err, io.EOF):
			return *new(T), nil, pipeline.ErrNotConnected
		}
		return *new(T), nil, fmt.Errorf("kafka: fetch: %w", err)
	}
	e, redelivered := s.track(m)
	if redelivered {
		<-s.slots // the first copy holds the message's slot
		if e != nil && e.acked {
			if err := s.recommit(ctx, m.Partition); err != nil {
				return *new(T), nil, err
			}
		}
		return *new(T), nil, errRedelivered
	}
	item, stream, err := s.dec(m.Value)
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
		if cerr := s.settle(ctx, m.Partition, e); cerr != nil {
			return *new(T), nil, errors.Join(merr, cerr)
		}
		return *new(T), nil, merr
	}
	ack := func(ctx context.Context, _ error) error {
		return s.settle(ctx, m.Partition, e)
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
	return s.settle(ctx, m.Partition, e)
}

// track records a fetched message, or reports it as a redelivery. When the
// group re-forms (a broker restart, a rebalance that hands the partition
// back), the reader fetches again from the committed offset: a message this
// source returned already is not returned twice. Its first copy, committed
// or still pending, stands for it, and redelivered is true; e is that
// pending copy, or nil when it was committed. A partition fetched below the
// offsets it tracks was reassigned meanwhile: what was pending on it is
// forgotten (its later acknowledgements are ignored), and the broker's
// committed offset is where the new assignment resumed.
func (s *Source[T]) track(m kafkago.Message) (e *entry, redelivered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[m.Partition]
	if p != nil && m.Offset <= p.last {
		if len(p.pending) == 0 || m.Offset < p.pending[0].offset {
			return nil, true
		}
		for _, e := range p.pending {
			if e.offset == m.Offset {
				return e, true
			}
		}
	}
	if p == nil || m.Offset <= p.last {
		gen := 0
		if p != nil {
			gen = p.gen + 1
			s.release(len(p.pending))
		}
		p = &partition{gen: gen}
		s.parts[m.Partition] = p
	}
	p.last = m.Offset
	e = &entry{offset: m.Offset, gen: p.gen}
	p.pending = append(p.pending, e)
	return e, false
}

// release returns n slots.
func (s *Source[T]) release(n int) {
	for range n {
		<-s.slots
	}
}

// settle acknowledges one message, once, and commits the partition up to
// the highest offset below which everything is acknowledged.
func (s *Source[T]) settle(ctx context.Context, part int, e *entry) error {
	first := false
	e.once.Do(func() { first = true })
	if !first {
		return nil
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if p := s.parts[part]; p == nil || p.gen != e.gen {
		s.mu.Unlock()
		return nil
	}
	e.acked = true
	s.mu.Unlock()
	return s.commitLocked(ctx, part)
}

// recommit commits the partition again up to its acknowledged prefix, for a
// redelivered message whose first copy was acknowledged but not committed
// (the commit failed while the broker was away).
func (s *Source[T]) recommit(ctx context.Context, part int) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commitLocked(ctx, part)
}

// commitLocked commits the partition up to the highest offset below which
// everything is acknowledged; the caller holds commitMu.
func (s *Source[T]) commitLocked(ctx context.Context, part int) error {
	s.mu.Lock()
	p := s.parts[part]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	n := 0
	for n < len(p.pending) && p.pending[n].acked {
		n++
	}
	if n == 0 {
		s.mu.Unlock()
		return nil
	}
	next := p.pending[n-1].offset + 1
	gen := p.gen
	s.mu.Unlock()

	// kafka-go commits the offset after the message's.
	err := s.r.CommitMessages(ctx, kafkago.Message{Topic: s.cfg.Topic, Partition: part, Offset: next - 1})
	if err != nil {
		return fmt.Errorf("kafka: commit %s/%d@%d: %w", s.cfg.Topic, part, next, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.parts[part]; p != nil && p.gen == gen {
		// Only the entries committed leave; others may have been acked
		// meanwhile and are committed by their own settle.
		k := 0
		for k < len(p.pending) && p.pending[k].offset < next {
			k++
		}
		p.pending = p.pending[k:]
		s.release(k)
	}
	return nil
}

// Close leaves the group and closes the connections. Acknowledgements after
// Close fail to commit, so the segments are delivered again.
func (s *Source[T]) Close(context.Context) error {
	if s.r == nil || s.closed {
		return nil
	}
	s.closed = true
	if err := s.r.Close(); err != nil {
		return fmt.Errorf("kafka: close: %w", err)
	}
	return nil
}

// Lag returns how many messages of the partitions this member reads were
// not fetched yet when the reader last looked (the high-water mark minus
// the fetch offset; 0 before Connect). Safe for concurrent use.
func (s *Source[T]) Lag() int64 {
	s.mu.Lock()
	r := s.r
	s.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.Stats().Lag
}
