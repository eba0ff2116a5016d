package app

import (
	"context"
	"errors"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/ops"
)

// kafkaEndpoint is a topic the pipeline reads or writes, for /readyz.
type kafkaEndpoint struct {
	role    string // "transcripts", "events" or "dead letter"
	brokers []string
	topic   string
	sec     kafkasec.Config
}

// readiness lists the Kafka topics of the pipeline, each a check of
// /readyz: a pipeline without Kafka needs none.
type readiness struct {
	endpoints []kafkaEndpoint
	// stalled, when set, reports the input partitions whose commits
	// stopped at an item that failed with no dead letter written.
	stalled func() error
}

// readyChecks returns the checks of the operations port's /readyz: the
// pipeline runs (not before Run, not once its shutdown started), no input
// partition stalled, and every Kafka topic of ready answers a metadata
// request (each check within ops.Config.CheckTimeout, the results reused
// for ops.Config.CacheFor).
func (a *App) readyChecks(ready readiness) []ops.Check {
	checks := []ops.Check{{Name: "pipeline", Func: func(context.Context) error {
		switch a.phase.Load() {
		case phaseBuilt:
			return errors.New("not started")
		case phaseStopping:
			return errors.New("shutting down")
		case phaseStopped:
			return errors.New("stopped")
		}
		return nil
	}}}
	if ready.stalled != nil {
		stalled := ready.stalled
		checks = append(checks, ops.Check{Name: "kafka transcripts commits", Func: func(context.Context) error { return stalled() }})
	}
	for _, e := range ready.endpoints {
		checks = append(checks, ops.Check{Name: fmt.Sprintf("kafka %s topic %q", e.role, e.topic), Func: e.check})
	}
	return checks
}

// check asks the brokers, one after the other until one answers, for the
// topic's partitions over a fresh connection (a shared kafka-go transport
// would answer from its cached metadata while the brokers are away).
// The caller bounds the time with ctx.
func (e kafkaEndpoint) check(ctx context.Context) error {
	d, err := e.sec.Dialer(ops.DefaultCheckTimeout)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range e.brokers {
		err := readPartitions(ctx, d, b, e.topic)
		if err == nil {
			return nil
		}
		errs = append(errs, e.sec.Explain([]string{b}, err))
	}
	return fmt.Errorf("unreachable: %w", errors.Join(errs...))
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
