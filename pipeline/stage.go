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

// Keyer is an optional capability of a Stage run on several workers whose
// items must keep their order per key, such as the frames of one video
// stream: items with the same key are processed one at a time, in arrival
// order, while items of different keys run on up to StageConfig.Workers
// workers at once. An item waits for a free worker once no worker is
// processing an item of its key; the runner holds at most one waiting item
// per worker, so back-pressure reaches the stage's input as before.
type Keyer[In any] interface {
	// Key returns the ordering key of in.
	Key(in In) string
}

// WorkerIniter is an optional capability of a Stage: the runner calls
// InitWorker at the start of each of the stage's worker goroutines, on that
// goroutine, before its first item. A stage uses it to lock the goroutine
// to an OS thread (runtime.LockOSThread) and lower that thread's CPU
// priority; a goroutine that ends still locked takes its thread, and the
// thread's priority, with it.
type WorkerIniter interface {
	// InitWorker prepares the calling worker goroutine.
	InitWorker()
}

// Drainer is an optional capability of a Stage or a Retainer that buffers
// state, such as an aligner holding windows open. After the stage's input is closed and every
// worker has finished, the runner calls Drain once and sends the returned
// outputs downstream before closing the stage's output. Outputs of Drain
// of a Stage derive from no particular input, so they carry no
// acknowledgement; a stage that holds inputs back should be a Retainer, whose
// Drain outputs name their inputs through Lineage.
type Drainer[Out any] interface {
	// Drain returns the outputs still held by the stage.
	Drain(ctx context.Context) ([]Out, error)
}

// DrainerFunc adapts a plain function to the Drainer interface.
type DrainerFunc[Out any] func(ctx context.Context) ([]Out, error)

// Drain calls f(ctx).
func (f DrainerFunc[Out]) Drain(ctx context.Context) ([]Out, error) { return f(ctx) }

// Ticker is an optional capability of a Stage or a Retainer whose outputs
// also depend on the passing of time, such as an aligner that emits a window
// after a maximum wait even when no input arrives. The runner calls Tick
// every StageConfig.TickInterval from the stage's first worker, between two
// calls of Process (or Retain), until the stage's input is closed; with one
// worker, Tick never runs concurrently with Process and outputs keep their
// order. Outputs of a Stage's Tick derive from no input and carry no
// acknowledgement; those of a Retainer's name their inputs through Lineage.
// An error is reported and counted, and the ticks go on.
type Ticker[Out any] interface {
	// Tick returns the outputs that became due.
	Tick(ctx context.Context) ([]Out, error)
}

// TickerFunc adapts a plain function to the Ticker interface.
type TickerFunc[Out any] func(ctx context.Context) ([]Out, error)

// Tick calls f(ctx).
func (f TickerFunc[Out]) Tick(ctx context.Context) ([]Out, error) { return f(ctx) }

// Hold is the pending acknowledgement of one input of a Retainer. It is a
// small comparable value with no methods: the stage keeps it with whatever it
// keeps of the input, names it in Lineage for every output derived from the
// input, and returns it exactly once from Released when it no longer keeps
// the input. The zero Hold stands for an input with nothing to acknowledge.
type Hold struct{ t *tracker }

// Retainer is a stateful stage whose outputs derive from inputs of earlier
// calls, such as the aligner, whose window is emitted long after the
// transcript segment it comes from. The runner acknowledges an input only
// once the stage released it and every output naming it was accepted by every
// sink, so a Kafka offset is committed after the event built from it.
//
// The runner runs a Retainer on one worker (add it with ViaRetainer) and
// never calls its methods concurrently. After each call of Retain, and of
// Tick and Drain when the stage implements Ticker or Drainer, it calls
// Lineage for every output, then Released. When Retain returns an error, the
// runner fails the input; the stage must then neither keep h nor release it.
type Retainer[In, Out any] interface {
	// Retain handles one input, which h stands for, and returns the
	// outputs that became ready.
	Retain(ctx context.Context, in In, h Hold) ([]Out, error)
	// Lineage returns the Holds of the inputs out derives from.
	Lineage(out Out) []Hold
	// Released returns the Holds of the inputs the stage let go of since
	// the last call, each exactly once over the stage's life.
	Released() []Hold
}
