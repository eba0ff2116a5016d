package align

import (
	"context"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Stage runs an Aligner as a pipeline stage: a pipeline.Retainer that also
// implements pipeline.Ticker (Tick applies MaxWait and IdleTimeout) and
// pipeline.Drainer (Drain flushes at the end of input). Add it with
// pipeline.ViaRetainer, which runs it on one worker. Each input's Ref is set
// to its pipeline.Hold, overwriting any Ref the source set, so the runner
// acknowledges an input only once the Aligner let it go and every window
// holding it was delivered. Its methods are called by the runner from one
// goroutine; the Aligner stays safe for concurrent use (Stats, for
// instance).
type Stage struct{ a *Aligner }

// NewStage returns a Stage running a.
func NewStage(a *Aligner) Stage { return Stage{a: a} }

// Retain adds in, with h as its Ref, and returns the windows that became
// ready. Its errors are those of Aligner.Add.
func (s Stage) Retain(_ context.Context, in Input, h pipeline.Hold) ([]Window, error) {
	return s.a.Add(WithRef(in, h))
}

// Lineage returns the Holds of the inputs that fell into w.
func (s Stage) Lineage(w Window) []pipeline.Hold { return holds(w.Refs) }

// Released returns the Holds of the inputs the Aligner let go of since the
// last call.
func (s Stage) Released() []pipeline.Hold { return holds(s.a.Released()) }

// Tick returns the windows emitted by Aligner.Tick; it never fails.
func (s Stage) Tick(context.Context) ([]Window, error) { return s.a.Tick(), nil }

// Drain returns the windows emitted by Aligner.Flush; it never fails.
func (s Stage) Drain(context.Context) ([]Window, error) { return s.a.Flush(), nil }

// The interfaces the runner finds on a Stage.
var (
	_ pipeline.Retainer[Input, Window] = Stage{}
	_ pipeline.Ticker[Window]          = Stage{}
	_ pipeline.Drainer[Window]         = Stage{}
)

// holds converts refs, which Retain set to Holds, to Holds.
func holds(refs []any) []pipeline.Hold {
	hs := make([]pipeline.Hold, len(refs))
	for i, r := range refs {
		hs[i] = r.(pipeline.Hold)
	}
	return hs
}
