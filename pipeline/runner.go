package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Runner wires and runs one pipeline. Build it with New, add nodes with
// From, Via and To, then call Run once. Wiring is not safe for concurrent
// use and must finish before Run; Metrics is safe for concurrent use at any
// time.
type Runner struct {
	cfg Config

	mu      sync.Mutex
	started bool
	wiring  []error
	names   map[string]bool
	streams []consumable
	starts  []func(hard, soft context.Context, ru *run)
	metrics []*nodeMetrics
	latency *prometheus.HistogramVec
	// sinks and sources are closed at the end of Run, sinks first.
	sinks   []closer
	sources []closer
}

// consumable is the type-erased view of a Stream used by Run.
type consumable interface {
	consumers() int
	producer() string
	prepare(hard context.Context, ru *run)
}

// closer closes one sink or source at the end of Run.
type closer struct {
	m     *nodeMetrics
	close func(ctx context.Context) error
}

// New returns a Runner for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg.withDefaults(), names: map[string]bool{}, latency: newLatencyVec()}, nil
}

// addNode registers a node's metrics and records a wiring error for a
// duplicate name or an invalid node config. It panics when Run has started:
// wiring a running pipeline is a programming error.
func (r *Runner) addNode(name string, kind NodeKind, cfgErr error, queue func() (int, int)) *nodeMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		panic("pipeline: node " + name + " added after Run")
	}
	if r.names[name] {
		r.wiring = append(r.wiring, fmt.Errorf("pipeline: duplicate node name %q", name))
	}
	r.names[name] = true
	if cfgErr != nil {
		r.wiring = append(r.wiring, fmt.Errorf("pipeline: %s %q: %w", kind, name, cfgErr))
	}
	m := &nodeMetrics{name: name, kind: kind, queue: queue}
	if kind != KindSource {
		// The observers of a HistogramVec are Histograms (client_golang's
		// documentation of HistogramVec.WithLabelValues).
		m.latency = r.latency.WithLabelValues(name).(prometheus.Histogram)
	}
	r.metrics = append(r.metrics, m)
	return m
}

// Metrics returns a snapshot of every node's metrics, in wiring order. It is
// safe for concurrent use, also while Run is running.
func (r *Runner) Metrics() []NodeMetrics {
	r.mu.Lock()
	ms := append([]*nodeMetrics(nil), r.metrics...)
	r.mu.Unlock()
	out := make([]NodeMetrics, len(ms))
	for i, m := range ms {
		out[i] = m.snapshot()
	}
	return out
}

// Run runs the pipeline until every source reported ErrEndOfInput and the
// items in flight drained, or until ctx is cancelled, which starts the
// two-phase shutdown described in the package documentation. It returns nil
// after a clean end; the wiring errors before starting anything;
// ErrShutdownTimeout (joined with any Close errors) when the hard phase was
// needed; and the errors of the sinks' and sources' Close. Run may be called
// only once. When a node ignores its context even after the hard stop, Run
// returns after the full Config.ShutdownTimeout without closing the sinks and
// sources, and that node's goroutines are left behind. A miswired pipeline
// returns at once, without calling any Connect or Close.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("pipeline: Run called twice")
	}
	r.started = true
	r.mu.Unlock()
	for _, s := range r.streams {
		if s.consumers() == 0 {
			r.wiring = append(r.wiring, fmt.Errorf("pipeline: output of %q has no consumer", s.producer()))
		}
	}
	if err := errors.Join(r.wiring...); err != nil {
		return err
	}

	// The nodes run on a context of their own, so that cancelling ctx
	// starts the soft phase instead of stopping everything at once.
	hard, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	soft, stopSources := context.WithCancel(hard)
	defer stopSources()
	ru := &run{cfg: r.cfg}
	for _, s := range r.streams {
		s.prepare(hard, ru)
	}
	for _, start := range r.starts {
		start(hard, soft, ru)
	}
	done := make(chan struct{})
	go func() {
		ru.wg.Wait()
		close(done)
	}()

	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		stopSources()
		softPhase := r.cfg.ShutdownTimeout * 3 / 4
		t := time.NewTimer(softPhase)
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			hardStop()
			errs = append(errs, ErrShutdownTimeout)
			t.Reset(r.cfg.ShutdownTimeout - softPhase)
			select {
			case <-done:
				t.Stop()
			case <-t.C:
				return fmt.Errorf("%w; nodes still running after the hard stop, sinks and sources left open", ErrShutdownTimeout)
			}
		}
	}
	for _, c := range append(r.sinks, r.sources...) {
		if err := c.close(hard); err != nil {
			c.m.errs.Add(1)
			errs = append(errs, fmt.Errorf("pipeline: %s %q: close: %w", c.m.kind, c.m.name, err))
		}
	}
	if dl := r.cfg.DeadLetter; dl != nil {
		if err := dl.Close(hard); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: dead letter: close: %w", err))
		}
	}
	return errors.Join(errs...)
}

// run is the state shared by the goroutines of one Run. The contexts are
// passed to the goroutines as arguments: hard is cancelled by the hard stop
// and used by every node, soft is cancelled by the soft stop and used only
// by the sources' Connect and Read.
type run struct {
	cfg  Config
	wg   sync.WaitGroup
	dlMu sync.Mutex
}

// report passes err to Config.OnError, if set.
func (ru *run) report(err error) {
	if ru.cfg.OnError != nil {
		ru.cfg.OnError(err)
	}
}

// fail reports that item failed in node m and writes it to the dead-letter
// sink. The item's tracker records the failure only when it is on record
// nowhere durable (no dead-letter sink, or its Write failed): a failure the
// dead-letter sink took counts as handled, so the source may commit the item.
// After a hard stop it does nothing: the item is abandoned, not failed, and
// stays unacknowledged.
func (ru *run) fail(ctx context.Context, m *nodeMetrics, item any, tr *tracker, err error) {
	if ctx.Err() != nil {
		return
	}
	m.errs.Add(1)
	ie := &ItemError{Node: m.name, Item: item, Err: err}
	ru.report(ie)
	unrecorded := error(ie)
	if dl := ru.cfg.DeadLetter; dl != nil {
		ru.dlMu.Lock()
		werr := dl.Write(ctx, []*ItemError{ie})
		ru.dlMu.Unlock()
		unrecorded = nil
		if werr != nil {
			werr = fmt.Errorf("pipeline: dead letter: %w", werr)
			ru.report(werr)
			unrecorded = errors.Join(ie, werr)
		}
	}
	if unrecorded != nil {
		tr.fail(unrecorded)
	}
	tr.done(ctx, ru)
}

// send delivers v on ch unless ctx is done first, and reports whether it did.
func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// recv receives from ch unless ctx is done first; ok is false when ch is
// closed or ctx is done.
func recv[T any](ctx context.Context, ch <-chan T) (v T, ok bool) {
	select {
	case v, ok = <-ch:
		return v, ok
	case <-ctx.Done():
		return v, false
	}
}
