package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// envelope carries one value between nodes, with the tracker of the source
// item it derives from (nil when there is nothing to acknowledge).
type envelope[T any] struct {
	v  T
	tr *tracker
}

// tracker counts the live derivatives of one source item: each envelope in
// a channel or in a node's hands holds one count. When the count drops to
// zero the item's AckFunc runs, with the first failure recorded, if any.
type tracker struct {
	pending atomic.Int64
	ack     AckFunc
	source  *nodeMetrics

	mu  sync.Mutex
	err error
}

// newTracker returns a tracker holding one count, or nil when ack is nil.
func newTracker(ack AckFunc, source *nodeMetrics) *tracker {
	if ack == nil {
		return nil
	}
	t := &tracker{ack: ack, source: source}
	t.pending.Store(1)
	return t
}

// add registers n more derivatives. It is a no-op on a nil tracker.
func (t *tracker) add(n int) {
	if t != nil {
		t.pending.Add(int64(n))
	}
}

// fail records err as the item's failure, keeping the first one.
func (t *tracker) fail(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}

// done releases one count and runs the acknowledgement when it was the last,
// unless ctx (the hard-stop context) is done: after a hard stop no
// acknowledgement runs, so the source delivers the item again.
func (t *tracker) done(ctx context.Context, ru *run) {
	if t == nil || t.pending.Add(-1) != 0 || ctx.Err() != nil {
		return
	}
	t.mu.Lock()
	failure := t.err
	t.mu.Unlock()
	if err := t.ack(ctx, failure); err != nil {
		t.source.errs.Add(1)
		ru.report(fmt.Errorf("pipeline: source %q: ack: %w", t.source.name, err))
	}
}
