package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Via adds the stage st, named name, consuming in, and returns its output.
// It panics if called after Run started; an invalid cfg or a duplicate name
// is returned by Run.
func Via[In, Out any](in *Stream[In], name string, cfg StageConfig, st Stage[In, Out]) *Stream[Out] {
	return addStage(in, name, cfg, nil, st, func(ru *run) handler[In, Out] {
		return &stageHandler[In, Out]{ru: ru, st: st}
	})
}

// ViaRetainer adds the stateful stage st, named name, consuming in, and
// returns its output. A Retainer runs on exactly one worker: cfg.Workers
// must be 0 or 1. It panics if called after Run started; an invalid cfg or
// a duplicate name is returned by Run.
func ViaRetainer[In, Out any](in *Stream[In], name string, cfg StageConfig, st Retainer[In, Out]) *Stream[Out] {
	var err error
	if cfg.Workers > 1 {
		err = fmt.Errorf("pipeline: StageConfig.Workers must be 1 for a Retainer, got %d", cfg.Workers)
	}
	return addStage(in, name, cfg, err, st, func(ru *run) handler[In, Out] {
		return &retainHandler[In, Out]{ru: ru, st: st}
	})
}

// addStage wires a stage node: cfg.Workers workers running the handler made
// by newHandler, the first one also ticking when st is a Ticker, and a
// closer that drains st when it is a Drainer and closes the output.
func addStage[In, Out any](in *Stream[In], name string, cfg StageConfig, cfgErr error, st any, newHandler func(*run) handler[In, Out]) *Stream[Out] {
	r := in.r
	idx := in.subscribe()
	out := newStream[Out](r, name, cfg.Buffer)
	m := r.addNode(name, KindStage, errors.Join(cfg.Validate(), cfgErr), out.queue)
	workers := cfg.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	interval := cfg.TickInterval
	if interval <= 0 {
		interval = DefaultTickInterval
	}
	ticker, ticks := st.(Ticker[Out])
	keyer, keyed := st.(Keyer[In])
	initer, inits := st.(WorkerIniter)
	r.mu.Lock()
	r.starts = append(r.starts, func(hard, _ context.Context, ru *run) {
		h := newHandler(ru)
		var wg sync.WaitGroup
		var d *dispatcher[In]
		if keyed && workers > 1 {
			d = newDispatcher(keyer, workers, m)
			wg.Go(func() { d.run(hard, in.subs[idx]) })
		}
		for i := range workers {
			w := worker[In, Out]{ru: ru, m: m, h: h, in: in.subs[idx], out: out.out, id: i}
			if d != nil {
				w.in, w.free = d.workers[i], d.free
			}
			if i == 0 && ticks {
				w.ticker = ticker
				w.interval = interval
			}
			wg.Go(func() {
				if inits {
					initer.InitWorker()
				}
				w.run(hard)
			})
		}
		ru.wg.Go(func() {
			defer close(out.out)
			wg.Wait()
			if d, ok := st.(Drainer[Out]); ok && hard.Err() == nil {
				outs, err := d.Drain(hard)
				if err != nil {
					m.errs.Add(1)
					ru.report(fmt.Errorf("pipeline: stage %q: drain: %w", m.name, err))
				}
				emit(hard, m, h.settle(hard, outs, nil), out.out)
			}
		})
	})
	r.mu.Unlock()
	return out
}

// handler runs one kind of stage for its workers and gives each output the
// tracker of the inputs it derives from.
type handler[In, Out any] interface {
	// process runs the stage on env and appends the outputs to dst; on
	// error the input is not settled.
	process(ctx context.Context, env envelope[In], dst []envelope[Out]) ([]envelope[Out], error)
	// settle appends outputs of Tick or Drain to dst.
	settle(ctx context.Context, outs []Out, dst []envelope[Out]) []envelope[Out]
}

// stageHandler runs a Stage: each output derives from the input it was
// returned for; outputs of Tick and Drain derive from none.
type stageHandler[In, Out any] struct {
	ru *run
	st Stage[In, Out]
}

func (h *stageHandler[In, Out]) process(ctx context.Context, env envelope[In], dst []envelope[Out]) ([]envelope[Out], error) {
	outs, err := h.st.Process(ctx, env.v)
	if err != nil {
		return dst, err
	}
	env.tr.add(len(outs))
	for _, o := range outs {
		dst = append(dst, envelope[Out]{v: o, tr: env.tr})
	}
	env.tr.done(ctx, h.ru) // the outputs now hold the input
	return dst, nil
}

func (h *stageHandler[In, Out]) settle(_ context.Context, outs []Out, dst []envelope[Out]) []envelope[Out] {
	for _, o := range outs {
		dst = append(dst, envelope[Out]{v: o})
	}
	return dst
}

// retainHandler runs a Retainer: each output derives from the inputs its
// Lineage names, and inputs are let go only through Released, after the
// outputs of the same call took hold of them.
type retainHandler[In, Out any] struct {
	ru *run
	st Retainer[In, Out]
}

func (h *retainHandler[In, Out]) process(ctx context.Context, env envelope[In], dst []envelope[Out]) ([]envelope[Out], error) {
	outs, err := h.st.Retain(ctx, env.v, Hold{t: env.tr})
	return h.settle(ctx, outs, dst), err
}

func (h *retainHandler[In, Out]) settle(ctx context.Context, outs []Out, dst []envelope[Out]) []envelope[Out] {
	for _, o := range outs {
		dst = append(dst, envelope[Out]{v: o, tr: join(h.st.Lineage(o), h.ru)})
	}
	for _, held := range h.st.Released() {
		held.t.done(ctx, h.ru)
	}
	return dst
}

// join returns a tracker for an output derived from the inputs of holds: nil
// for none, the input's own tracker for one, and otherwise a tracker whose
// acknowledgement releases each input with the output's outcome.
func join(holds []Hold, ru *run) *tracker {
	var parents []*tracker
	for _, h := range holds {
		if h.t != nil {
			parents = append(parents, h.t)
		}
	}
	switch len(parents) {
	case 0:
		return nil
	case 1:
		parents[0].add(1)
		return parents[0]
	}
	for _, p := range parents {
		p.add(1)
	}
	return newTracker(func(ctx context.Context, err error) error {
		for _, p := range parents {
			if err != nil {
				p.fail(err)
			}
			p.done(ctx, ru)
		}
		return nil
	}, nil)
}

// worker is one worker of a stage; the first one also runs the stage's
// Ticker, if any.
type worker[In, Out any] struct {
	ru       *run
	m        *nodeMetrics
	h        handler[In, Out]
	in       <-chan envelope[In]
	out      chan<- envelope[Out]
	ticker   Ticker[Out]
	interval time.Duration
	// id is the worker's index; free, for a keyed stage, receives it
	// after each item, to tell the dispatcher the worker is free again.
	id   int
	free chan<- int
	// buf is reused for the outputs of each call.
	buf []envelope[Out]
}

// run processes items until the input is closed or hard is done.
func (w *worker[In, Out]) run(hard context.Context) {
	var tick <-chan time.Time
	if w.ticker != nil {
		t := time.NewTicker(w.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case env, ok := <-w.in:
			if !ok || !w.process(hard, env) {
				return
			}
			if w.free != nil {
				w.free <- w.id // never blocks: see dispatcher.free
			}
		case <-tick:
			outs, err := w.ticker.Tick(hard)
			if err != nil {
				w.m.errs.Add(1)
				w.ru.report(fmt.Errorf("pipeline: stage %q: tick: %w", w.m.name, err))
			}
			if !w.emit(hard, w.h.settle(hard, outs, w.buf[:0])) {
				return
			}
		case <-hard.Done():
			return
		}
	}
}

// process runs the stage on one item and sends its outputs; it reports
// false when hard is done.
func (w *worker[In, Out]) process(hard context.Context, env envelope[In]) bool {
	m := w.m
	m.in.Add(1)
	m.inFlight.Add(1)
	defer m.inFlight.Add(-1)
	t0 := w.ru.cfg.Now()
	envs, err := w.h.process(hard, env, w.buf[:0])
	m.observe(w.ru.cfg.Now().Sub(t0))
	if err != nil {
		w.ru.fail(hard, m, env.v, env.tr, err)
	}
	return w.emit(hard, envs)
}

// emit sends envs and keeps their backing array for the next call.
func (w *worker[In, Out]) emit(hard context.Context, envs []envelope[Out]) bool {
	ok := emit(hard, w.m, envs, w.out)
	clear(envs)
	w.buf = envs[:0]
	return ok
}

// emit sends envs downstream; it reports false when hard is done first.
func emit[Out any](hard context.Context, m *nodeMetrics, envs []envelope[Out], out chan<- envelope[Out]) bool {
	for _, e := range envs {
		if !send(hard, out, e) {
			return false
		}
		m.out.Add(1)
	}
	return true
}
