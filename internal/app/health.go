package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
)

// readyTimeout bounds one readiness check of a Kafka endpoint: well below
// the usual 1 s probe timeout of orchestrators.
const readyTimeout = 800 * time.Millisecond

// kafkaEndpoint is a topic the pipeline reads or writes, for /readyz.
type kafkaEndpoint struct {
	role    string // "transcripts", "events" or "dead letter"
	brokers []string
	topic   string
	sec     kafkasec.Config
}

// readiness reports whether every Kafka topic of the pipeline is reachable:
// a metadata request per topic, each within readyTimeout. A pipeline without
// Kafka is always ready. Safe for concurrent use.
type readiness struct {
	endpoints []kafkaEndpoint
	// stalled, when set, reports the input partitions whose commits
	// stopped at an item that failed with no dead letter written.
	stalled func() error
}

// check returns nil when every topic answered and no input partition
// stalled, else an error naming each topic that did not answer and each
// partition that stalled, and why.
func (r readiness) check(ctx context.Context) error {
	var errs []error
	if r.stalled != nil {
		if err := r.stalled(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range r.endpoints {
		if err := e.check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check asks the brokers, one after the other until one answers, for the
// topic's partitions over a fresh connection (a shared kafka-go transport
// would answer from its cached metadata while the brokers are away).
func (e kafkaEndpoint) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	d, err := e.sec.Dialer(readyTimeout)
	if err != nil {
		return fmt.Errorf("kafka %s topic %q: %w", e.role, e.topic, err)
	}
	var errs []error
	for _, b := range e.brokers {
		err := readPartitions(ctx, d, b, e.topic)
		if err == nil {
			return nil
		}
		errs = append(errs, e.sec.Explain([]string{b}, err))
	}
	return fmt.Errorf("kafka %s topic %q unreachable: %w", e.role, e.topic, errors.Join(errs...))
}

// readPartitions asks broker for the partitions of topic.
func readPartitions(ctx context.Context, d *kafkago.Dialer, broker, topic string) error {
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }() // a probe connection: nothing to flush
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return err
		}
	}
	if _, err := conn.ReadPartitions(topic); err != nil {
		return fmt.Errorf("%s: %w", broker, err)
	}
	return nil
}
