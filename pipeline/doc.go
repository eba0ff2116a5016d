// Package pipeline defines the contracts between the parts of cmc-stream
// (Source, Stage, Sink) and the Runner that joins them.
//
// A pipeline is wired with typed, generic helpers and then run once:
//
//	r, _ := pipeline.New(pipeline.Config{ShutdownTimeout: 10 * time.Second})
//	items := pipeline.From(r, "kafka", pipeline.SourceConfig{}, src)
//	windows := pipeline.Via(items, "align", pipeline.StageConfig{}, aligner)
//	events := pipeline.Via(windows, "model", pipeline.StageConfig{Workers: 4}, model)
//	pipeline.To(events, "stdout", pipeline.SinkConfig{}, stdout)
//	err := r.Run(ctx)
//
// Every node runs as goroutines joined by bounded channels whose sizes come
// from configuration (unbuffered handoff by default). Every blocking send and
// receive selects on a context, and each node closes the channel it owns.
// Stages run on a fixed pool of workers (StageConfig.Workers, the stage's
// maximum number of items in flight). A stateful stage, such as the aligner,
// may also implement Ticker (outputs due to the passing of time) and Drainer
// (outputs still held when the input ends); a stage on several workers may
// implement Keyer (items of one key processed one at a time, in order) and
// WorkerIniter (each worker goroutine prepared, e.g. on an OS thread of
// lower priority). Merge joins several streams into one (a fan-in).
//
// # Delivery
//
// Sources hand each item over with an AckFunc. The runner tracks every output
// derived from the item, through every stage and every sink it fans out to,
// and runs the AckFunc exactly once, after every sink accepted all of them
// (at-least-once delivery: acknowledge after the sink, not at ingest). An item
// for which a stage returns no output is acknowledged as soon as it is
// processed by a Stage. A stateful stage that builds outputs from inputs of
// earlier calls (the aligner) implements Retainer instead and is added with
// ViaRetainer: it names each output's inputs, and tells the runner when it
// lets an input go, so the input is acknowledged only after the outputs built
// from it were accepted. An item that fails in a stage or a sink is reported
// (Config.OnError, the Errors counter, and Config.DeadLetter when set); the
// other items flow on. It is acknowledged with a nil error once its failure
// was written to Config.DeadLetter, and with the error when it is on record
// nowhere durable (no dead-letter sink, or the write failed), which tells a
// replayable source not to commit it. An item abandoned by a hard stop is
// never acknowledged, so a replayable source delivers it again.
//
// # Shutdown
//
// Run stops in two phases when its context is cancelled. Soft: the sources
// stop reading, the items in flight drain through the stages, the sinks write
// and flush them, and their acknowledgements run. Hard: if the soft phase has
// not finished after 3/4 of Config.ShutdownTimeout, the runner cancels every
// stage and sink and returns ErrShutdownTimeout. When every source reports
// ErrEndOfInput the pipeline drains the same way and Run returns.
//
// # Metrics
//
// The runner, not the stages, keeps per-node metrics: items in and out,
// errors, items in flight, output-queue depth and a latency histogram.
// Runner.Metrics returns a snapshot, and the Runner is a
// prometheus.Collector that exports them as cmc_stage_* metrics labelled
// with the node's name (see Runner.Collect); it registers on no registry by
// itself.
//
// The package uses no cgo and imports no other cmc-stream package.
package pipeline
