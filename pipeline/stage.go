package pipeline

import "context"

// Stage turns one input into zero or more outputs (a map, a filter or a
// flat-map). The runner calls Process from StageConfig.Workers goroutines at
// once, so Process must be safe for concurrent use when Workers > 1; with one
// worker, items are processed one at a time in arrival order. Process should
// return promptly when ctx is done. A non-nil error fails only this item: the
// runner reports it and goes on with the next one. The stage owns no channel
// and never closes anything; the runner does.
type Stage[In, Out any] interface {
	// Process handles one item and returns the outputs derived from it.
	Process(ctx context.Context, in In) ([]Out, error)
}

// StageFunc adapts a plain function to the Stage interface.
type StageFunc[In, Out any] func(ctx context.Context, in In) ([]Out, error)

// Process calls f(ctx, in).
func (f StageFunc[In, Out]) Process(ctx context.Context, in In) ([]Out, error) {
	return f(ctx, in)
}

// Drainer is an optional capability of a Stage that buffers state, such as an
// aligner holding windows open. After the stage's input is closed and every
// worker has finished, the runner calls Drain once and sends the returned
// outputs downstream before closing the stage's output. Outputs of Drain
// derive from no particular input, so they carry no acknowledgement; a stage
// that holds inputs back must not rely on the runner to acknowledge them late.
type Drainer[Out any] interface {
	// Drain returns the outputs still held by the stage.
	Drain(ctx context.Context) ([]Out, error)
}

// DrainerFunc adapts a plain function to the Drainer interface.
type DrainerFunc[Out any] func(ctx context.Context) ([]Out, error)

// Drain calls f(ctx).
func (f DrainerFunc[Out]) Drain(ctx context.Context) ([]Out, error) { return f(ctx) }

// Ticker is an optional capability of a Stage whose outputs also depend on
// the passing of time, such as an aligner that emits a window after a maximum
// wait even when no input arrives. The runner calls Tick every
// StageConfig.TickInterval from the stage's first worker, between two calls
// of Process, until the stage's input is closed; with one worker, Tick never
// runs concurrently with Process and outputs keep their order. Outputs of
// Tick derive from no particular input, so they carry no acknowledgement. An
// error is reported and counted, and the ticks go on.
type Ticker[Out any] interface {
	// Tick returns the outputs that became due.
	Tick(ctx context.Context) ([]Out, error)
}

// TickerFunc adapts a plain function to the Ticker interface.
type TickerFunc[Out any] func(ctx context.Context) ([]Out, error)

// Tick calls f(ctx).
func (f TickerFunc[Out]) Tick(ctx context.Context) ([]Out, error) { return f(ctx) }
