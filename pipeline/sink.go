package pipeline

import "context"

// Sink consumes the items at the end of a pipeline.
//
// The runner calls Write from one goroutine per sink, never concurrently,
// with a batch of 1 to SinkConfig.BatchSize items; the batch slice is reused
// after Write returns, so a sink must copy what it keeps. Write blocks until
// the batch is accepted or ctx is done. A nil error accepts the whole batch; a
// *BatchError accepts the items whose entry is nil; any other error fails the
// whole batch. Failed items are reported and acknowledged with their error.
// The runner calls Close exactly once, after the last Write (and Flush), with
// a context that may already be cancelled after a hard stop: Close must still
// release the sink's resources.
type Sink[T any] interface {
	// Write delivers one batch.
	Write(ctx context.Context, batch []T) error
	// Close releases the sink's resources.
	Close(ctx context.Context) error
}

// Flusher is an optional capability of a Sink that buffers writes. During the
// soft shutdown, after the last Write and before Close, the runner calls Flush
// once; an error is reported. Items are acknowledged as soon as Write accepts
// them, so a sink must not accept what it could still lose: Flush is for
// buffers that carry no delivery promise, such as a terminal's bufio.Writer.
type Flusher interface {
	// Flush writes out whatever the sink buffered.
	Flush(ctx context.Context) error
}

// FlusherFunc adapts a plain function to the Flusher interface.
type FlusherFunc func(ctx context.Context) error

// Flush calls f(ctx).
func (f FlusherFunc) Flush(ctx context.Context) error { return f(ctx) }
