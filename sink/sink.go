package sink

import (
	"errors"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Sink delivers batches of events: the pipeline's sink contract
// (pipeline.Sink) for events, which states what Write blocks on, what a
// *pipeline.BatchError means, and who calls Close. Sinks that hand events on
// asynchronously also implement pipeline.Flusher.
//
// The sinks of this package add these promises, which sinktest checks: Write
// returns an error wrapping ctx.Err() when ctx is already done, and delivers
// nothing then; an event that cannot be encoded (a NaN probability) fails the
// whole batch before anything is delivered; Write returns ErrClosed after
// Close, and a second Close returns nil; the events of one stream are
// delivered in the order written; and the sinks are safe for concurrent use.
type Sink = pipeline.Sink[event.Event]

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sink: closed")
