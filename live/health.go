package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// readyTimeout bounds one readiness check of a Kafka endpoint: well below
// the usual 1 s probe timeout of orchestrators.
const readyTimeout = 800 * time.Millisecond

// kafkaEndpoint is a topic the pipeline reads or writes, for /readyz.
type kafkaEndpoint struct {
	role    string // "transcripts", "events" or "dead letter"
	brokers []string
	topic   string
}

// readiness reports whether every Kafka topic of the pipeline is reachable:
// a metadata request per topic, each within readyTimeout. A pipeline without
// Kafka is always ready. Safe for concurrent use.
type readiness struct {
	endpoints []kafkaEndpoint
}

// check returns nil when every topic answered, else an error naming each
// topic that did not and why.
func (r readiness) check(ctx context.Context) error {
	var errs []error
	for _, e := range r.endpoints {
		if err := e.check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check asks the brokers for the topic's metadata.
func (e kafkaEndpoint) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := &kafkago.Client{Addr: kafkago.TCP(e.brokers...), Timeout: readyTimeout}
	resp, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{e.topic}})
	if err != nil {
		return fmt.Errorf("kafka %s topic %q at %v unreachable: %w", e.role, e.topic, e.brokers, err)
	}
	for _, t := range resp.Topics {
		if t.Error != nil {
			return fmt.Errorf("kafka %s topic %q at %v: %w", e.role, e.topic, e.brokers, t.Error)
		}
	}
	return nil
}
