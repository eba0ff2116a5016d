package sink

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// KafkaConfig configures a Kafka sink. A zero duration or count means the
// default; the defaults are chosen for a live path, not kafka-go's (which
// waits up to 1 s to fill a batch).
type KafkaConfig struct {
	// Brokers are the bootstrap host:port addresses. Required.
	Brokers []string
	// Topic is the topic to write to. Required.
	Topic string
	// BatchSize is the largest number of events sent to one partition in
	// one request. Default 100.
	BatchSize int
	// BatchTimeout is how long a partially filled batch waits for more
	// events before it is sent. Default 10 ms.
	BatchTimeout time.Duration
	// MaxAttempts is how many times a batch is tried before Write reports
	// it failed. Default 3.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the wait between attempts, which
	// doubles from BackoffMin. Defaults 10 ms and 500 ms.
	BackoffMin, BackoffMax time.Duration
	// WriteTimeout bounds each request to a broker. Default 10 s.
	WriteTimeout time.Duration
	// MaxEventBytes is the largest encoded event written; a larger event
	// fails alone with ErrEventTooLarge while the rest of its batch is
	// written. Default 1,000,000 bytes, under Kafka's default
	// message.max.bytes (1,048,588) and kafka-go's request limit (1 MiB).
	MaxEventBytes int
	// AutoCreateTopic lets the writer create Topic if the cluster allows
	// it. Default false: a missing topic is an error.
	AutoCreateTopic bool
	// Security is the TLS and SASL of the connections to the brokers.
	// Default: plaintext, no authentication.
	Security kafkasec.Config
}

// The defaults of KafkaConfig.
const (
	// DefaultKafkaBatchSize is the default largest batch, in events.
	DefaultKafkaBatchSize = 100
	// DefaultKafkaBatchTimeout is the default wait to fill a batch: short,
	// for a live path.
	DefaultKafkaBatchTimeout = 10 * time.Millisecond
	// DefaultKafkaMaxAttempts is the default number of tries per batch.
	DefaultKafkaMaxAttempts = 3
	// DefaultKafkaBackoffMin is the default first wait between tries.
	DefaultKafkaBackoffMin = 10 * time.Millisecond
	// DefaultKafkaBackoffMax is the default longest wait between tries.
	DefaultKafkaBackoffMax = 500 * time.Millisecond
	// DefaultKafkaWriteTimeout is the default bound on one request.
	DefaultKafkaWriteTimeout = 10 * time.Second
	// DefaultKafkaMaxEvent is the default largest encoded event, in bytes.
	DefaultKafkaMaxEvent = 1_000_000
)

// ErrEventTooLarge is the per-event error of Kafka.Write for an event whose
// encoding exceeds KafkaConfig.MaxEventBytes.
var ErrEventTooLarge = errors.New("sink: kafka: event too large")

// Validate checks the configuration: brokers and a topic are set, and no
// count or duration is negative, BackoffMin not above BackoffMax.
func (c KafkaConfig) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("sink: kafka: no brokers")
	}
	if c.Topic == "" {
		return errors.New("sink: kafka: no topic")
	}
	if c.BatchSize < 0 || c.MaxAttempts < 0 || c.MaxEventBytes < 0 || c.BatchTimeout < 0 || c.BackoffMin < 0 || c.BackoffMax < 0 || c.WriteTimeout < 0 {
		return errors.New("sink: kafka: negative batch size, attempts or duration")
	}
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		return fmt.Errorf("sink: kafka: backoff min %v above max %v", c.BackoffMin, c.BackoffMax)
	}
	if err := c.Security.Validate(); err != nil {
		return fmt.Errorf("sink: kafka: %w", err)
	}
	return nil
}

// Kafka writes each event as one message of JSON to a Kafka topic, keyed by
// the stream id, so the events of a stream stay in order on one partition
// (partitioned with murmur2, like Java producers). Every write waits for
// acknowledgement by all in-sync replicas. It is safe for concurrent use.
type Kafka struct {
	w        *kafka.Writer
	maxEvent int
	brokers  []string
	sec      kafkasec.Config
	closed   atomic.Bool
}

// NewKafka returns a Kafka sink. It reads the files and the password of
// cfg.Security, and does not connect until the first Write.
func NewKafka(cfg KafkaConfig) (*Kafka, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.Security.Transport()
	if err != nil {
		return nil, fmt.Errorf("sink: kafka: %w", err)
	}
	w := &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Topic:                  cfg.Topic,
		Balancer:               &kafka.Murmur2Balancer{Consistent: true},
		MaxAttempts:            cmp.Or(cfg.MaxAttempts, DefaultKafkaMaxAttempts),
		WriteBackoffMin:        cmp.Or(cfg.BackoffMin, DefaultKafkaBackoffMin),
		WriteBackoffMax:        cmp.Or(cfg.BackoffMax, DefaultKafkaBackoffMax),
		BatchSize:              cmp.Or(cfg.BatchSize, DefaultKafkaBatchSize),
		BatchTimeout:           cmp.Or(cfg.BatchTimeout, DefaultKafkaBatchTimeout),
		WriteTimeout:           cmp.Or(cfg.WriteTimeout, DefaultKafkaWriteTimeout),
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: cfg.AutoCreateTopic,
		Transport:              tr,
	}
	return &Kafka{w: w, maxEvent: cmp.Or(cfg.MaxEventBytes, DefaultKafkaMaxEvent), brokers: cfg.Brokers, sec: cfg.Security}, nil
}

// SchemaHeader is the message header that carries event.Schema, so
// consumers can route by schema version without parsing the value.
const SchemaHeader = "schema"

// Write sends the batch and blocks until every message was acknowledged or
// failed after MaxAttempts. When some events failed (too large, or their
// partition's request failed), the returned error wraps a
// *pipeline.BatchError with one entry per event, nil for the events that
// were written, so the pipeline dead-letters exactly the failed ones.
func (k *Kafka) Write(ctx context.Context, events []event.Event) error {
	recs := make([]event.Record, len(events))
	for i := range events {
		recs[i] = &events[i]
	}
	return k.Publish(ctx, recs)
}

// Publish sends records (summaries, alerts) like Write sends events: one
// JSON message each, keyed by stream id, with the schema header.
func (k *Kafka) Publish(ctx context.Context, records []event.Record) error {
	if k.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: kafka: %w", err)
	}
	if len(records) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(records))
	index := make([]int, 0, len(records)) // msgs[j] is records[index[j]]
	errs := make([]error, len(records))
	failed := false
	for i, r := range records {
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("sink: kafka: event %q: %w", r.RecordID(), err)
		}
		if len(v) > k.maxEvent {
			errs[i] = fmt.Errorf("%w: %q is %d bytes, limit %d", ErrEventTooLarge, r.RecordID(), len(v), k.maxEvent)
			failed = true
			continue
		}
		header := []kafka.Header{{Key: SchemaHeader, Value: []byte(r.RecordSchema())}}
		msgs = append(msgs, kafka.Message{Key: []byte(r.RecordStream()), Value: v, Headers: header})
		index = append(index, i)
	}
	if len(msgs) > 0 {
		err := k.w.WriteMessages(ctx, msgs...)
		var kw kafka.WriteErrors
		switch {
		case errors.As(err, &kw):
			for j, e := range kw {
				errs[index[j]] = e
			}
			failed = true
		case err != nil:
			return fmt.Errorf("sink: kafka: write to %s: %w", k.w.Topic, k.sec.Explain(k.brokers, err))
		}
	}
	if failed {
		return fmt.Errorf("sink: kafka: write to %s: %w", k.w.Topic, &pipeline.BatchError{Errs: errs})
	}
	return nil
}

// Close flushes the messages in flight and closes the connections. The
// writer does not take a context: Close returns when kafka-go's Close does,
// after at most about WriteTimeout per pending batch.
func (k *Kafka) Close(context.Context) error {
	if k.closed.Swap(true) {
		return nil
	}
	if err := k.w.Close(); err != nil {
		return fmt.Errorf("sink: kafka: close: %w", err)
	}
	return nil
}
