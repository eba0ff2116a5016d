package sink

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// DefaultRetryTimeout is the default Retry.Timeout: long enough to ride
// out a broker restart or a short outage, short enough that a lasting
// failure reaches the dead-letter topic.
const DefaultRetryTimeout = 30 * time.Second

// The back-off between two tries: it doubles from RetryBackoffMin up to
// RetryBackoffMax, so an outage costs a try every few seconds, not a busy
// loop.
const (
	RetryBackoffMin = 100 * time.Millisecond
	RetryBackoffMax = 5 * time.Second
)

// Retry wraps an event sink whose writes fail while its broker is away
// (the Kafka sink, which itself tries each batch a few times within about a
// second): it writes the failed events again with back-off (100ms doubling
// to 5s) until they are written or timeout has passed since the first try,
// and only then reports them failed, so the pipeline dead-letters them.
// Events the sink refuses for good (ErrEventTooLarge) fail at once.
// The runner never calls Write concurrently, as for any sink.
type Retry struct {
	// Sink is the wrapped sink.
	Sink pipeline.Sink[event.Event]
	// Timeout bounds the time from the first try of an event to giving up
	// on it. Default: DefaultRetryTimeout.
	Timeout time.Duration
	// Logger receives a warning per failed try. Default: slog.Default().
	Logger *slog.Logger
	// Name names the wrapped sink in the log.
	Name string
}

// Write writes batch, retrying the events that failed.
func (r *Retry) Write(ctx context.Context, batch []event.Event) error {
	errs := make([]error, len(batch))
	pending := make([]int, len(batch)) // indices into batch still to write
	for i := range pending {
		pending[i] = i
	}
	sub := make([]event.Event, 0, len(batch))
	giveUp := time.Now().Add(cmp.Or(r.Timeout, DefaultRetryTimeout))
	backoff := RetryBackoffMin
	for attempt := 1; ; attempt++ {
		sub = sub[:0]
		for _, i := range pending {
			sub = append(sub, batch[i])
		}
		err := r.Sink.Write(ctx, sub)
		var be *pipeline.BatchError
		perItem := errors.As(err, &be) && len(be.Errs) == len(sub)
		next := pending[:0]
		for j, i := range pending {
			e := err
			if perItem {
				e = be.Errs[j]
			}
			errs[i] = e
			if e != nil && !errors.Is(e, ErrEventTooLarge) {
				next = append(next, i)
			}
		}
		pending = next
		if len(pending) == 0 || ctx.Err() != nil || time.Now().Add(backoff).After(giveUp) {
			break
		}
		cmp.Or(r.Logger, slog.Default()).Warn("event sink write failed, retrying", "sink", r.Name, "events", len(pending), "attempt", attempt, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, RetryBackoffMax)
	}
	for _, e := range errs {
		if e != nil {
			return &pipeline.BatchError{Errs: errs}
		}
	}
	return nil
}

// Close closes the wrapped sink.
func (r *Retry) Close(ctx context.Context) error { return r.Sink.Close(ctx) }
