package pipeline

import "context"

// AckFunc acknowledges one item read from a Source. The runner calls it
// exactly once per item, after every output derived from the item was
// settled: with a nil error when every sink accepted every output (or as soon
// as the item is processed when it yields no output) and when each output or
// stage that failed was written to Config.DeadLetter, so the item is done and
// a source may commit it; with an error when a failure is on record nowhere
// durable (no dead-letter sink, or its Write failed), so the item is not done:
// a replayable source must not commit it and should deliver it again (after a
// restart or a rebalance for Kafka). After a hard stop no AckFunc runs: the
// items still in flight are abandoned and never acknowledged. AckFuncs of
// different items may be called concurrently and in any order; a source that
// needs ordered commits (Kafka offsets) orders them itself. A returned error
// is reported through Config.OnError. A nil AckFunc is allowed and means
// there is nothing to acknowledge.
type AckFunc func(ctx context.Context, err error) error

// Source produces the items that enter a pipeline.
//
// The runner calls Connect before the first Read and again after Read returns
// ErrNotConnected; a failing Connect is reported and retried after
// Config.ReconnectBackoff. Read blocks until an item is available or ctx is
// done; it returns ErrEndOfInput when the source is exhausted, ErrNotConnected
// when the connection was lost, and ctx.Err() when ctx was cancelled (the soft
// shutdown cancels it). Any other error is reported and Read is called again
// after Config.ReconnectBackoff. The runner calls Close exactly once, after the
// pipeline drained and every acknowledgement ran (or after a hard stop). The
// runner never calls the methods of one Source concurrently, but AckFuncs may
// run concurrently with Read.
type Source[T any] interface {
	// Connect establishes the connection; it may block until ctx is done.
	Connect(ctx context.Context) error
	// Read returns the next item and its acknowledgement function.
	Read(ctx context.Context) (T, AckFunc, error)
	// Close releases the source's resources.
	Close(ctx context.Context) error
}
