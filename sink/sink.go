package sink

import (
	"context"
	"errors"

	"github.com/cmc-stream/cmc-stream/event"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sink: closed")

// Sink delivers batches of events.
//
// Write blocks until the sink accepted the whole batch (a Kafka sink: until
// the broker acknowledged it) or failed, and returns an error wrapping
// ctx.Err() if ctx is done first; a nil error means every event was accepted,
// and an event, once accepted, is not lost by the sink. Write does not keep
// the batch slice after it returns. It returns ErrClosed after Close. An
// event that cannot be encoded (a NaN probability) fails the whole batch
// before anything is delivered; other errors are documented by each sink.
//
// The owner of a sink calls Close once, after the last Write (and Flush); a
// second Close returns nil. Close releases the sink's resources even when ctx is already done,
// and waits for delivery of what was accepted only until ctx is done. The
// sinks of this package are safe for concurrent use.
type Sink interface {
	// Write delivers one batch of events.
	Write(ctx context.Context, events []event.Event) error
	// Close releases the sink's resources.
	Close(ctx context.Context) error
}

// Flusher is an optional capability of a Sink that hands accepted events on
// asynchronously, such as the HTTP sink's per-client queues. Its owner calls
// Flush after the last Write and before Close, during a soft shutdown; Flush
// blocks until the sink handed on what it buffered or ctx is done, and then
// returns an error wrapping ctx.Err().
type Flusher interface {
	// Flush waits until the sink handed on whatever it buffered.
	Flush(ctx context.Context) error
}

// FlusherFunc adapts a plain function to the Flusher interface.
type FlusherFunc func(ctx context.Context) error

// Flush calls f(ctx).
func (f FlusherFunc) Flush(ctx context.Context) error { return f(ctx) }
