package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cmc-stream/cmc-stream/internal/ctxtime"
)

// Stream is the typed output of a source group or a stage, to be consumed by
// stages (Via) and sinks (To). A Stream with several consumers fans out:
// every consumer receives every item, and the item is acknowledged after all
// of them are done with it. A Stream must have at least one consumer when Run
// starts. Streams are wiring handles: not safe for concurrent use, and not to
// be used after Run started.
type Stream[T any] struct {
	r    *Runner
	name string
	out  chan envelope[T]
	n    int
	// subs holds one channel per consumer, set by prepare.
	subs []chan envelope[T]
}

// newStream registers a stream produced by the node name, with an output
// channel of capacity buffer (a negative buffer was reported by the node's
// Validate and is treated as zero).
func newStream[T any](r *Runner, name string, buffer int) *Stream[T] {
	s := &Stream[T]{r: r, name: name, out: make(chan envelope[T], max(buffer, 0))}
	r.mu.Lock()
	r.streams = append(r.streams, s)
	r.mu.Unlock()
	return s
}

// queue reports the length and capacity of the output channel.
func (s *Stream[T]) queue() (n, capacity int) { return len(s.out), cap(s.out) }

func (s *Stream[T]) consumers() int   { return s.n }
func (s *Stream[T]) producer() string { return s.name }

// subscribe adds a consumer and returns its index into subs.
func (s *Stream[T]) subscribe() int {
	s.n++
	return s.n - 1
}

// prepare sets the consumers' channels: the output channel itself for one
// consumer, or one unbuffered channel per consumer fed by a fan-out
// goroutine, which owns and closes them.
func (s *Stream[T]) prepare(hard context.Context, ru *run) {
	if s.n == 1 {
		s.subs = []chan envelope[T]{s.out}
		return
	}
	s.subs = make([]chan envelope[T], s.n)
	for i := range s.subs {
		s.subs[i] = make(chan envelope[T])
	}
	ru.wg.Go(func() {
		defer func() {
			for _, c := range s.subs {
				close(c)
			}
		}()
		for {
			env, ok := recv(hard, s.out)
			if !ok {
				return
			}
			env.tr.add(s.n - 1)
			for _, c := range s.subs {
				if !send(hard, c, env) {
					return
				}
			}
		}
	})
}

// From adds a group of sources named name, read concurrently (one goroutine
// per source) into one Stream. It panics if called after Run started; an
// invalid cfg, no sources, or a duplicate name is returned by Run.
func From[T any](r *Runner, name string, cfg SourceConfig, sources ...Source[T]) *Stream[T] {
	err := cfg.Validate()
	if len(sources) == 0 {
		err = errors.Join(err, errors.New("no sources"))
	}
	s := newStream[T](r, name, cfg.Buffer)
	m := r.addNode(name, KindSource, err, s.queue)
	r.mu.Lock()
	for _, src := range sources {
		r.sources = append(r.sources, closer{m: m, close: src.Close})
	}
	r.starts = append(r.starts, func(hard, soft context.Context, ru *run) {
		var wg sync.WaitGroup
		for _, src := range sources {
			wg.Go(func() { readLoop(hard, soft, ru, m, src, s.out) })
		}
		ru.wg.Go(func() {
			wg.Wait()
			close(s.out)
		})
	})
	r.mu.Unlock()
	return s
}

// readLoop connects src and reads it until it ends, the soft stop, or a
// failed send after the hard stop.
func readLoop[T any](hard, soft context.Context, ru *run, m *nodeMetrics, src Source[T], out chan<- envelope[T]) {
	backoff := ru.cfg.ReconnectBackoff
	connected := false
	for soft.Err() == nil {
		if !connected {
			if err := src.Connect(soft); err != nil {
				if soft.Err() != nil {
					return
				}
				m.errs.Add(1)
				ru.report(fmt.Errorf("pipeline: source %q: connect: %w", m.name, err))
				if ctxtime.Sleep(soft, backoff) != nil {
					return
				}
				continue
			}
			connected = true
		}
		v, ack, err := src.Read(soft)
		switch {
		case err == nil:
		case errors.Is(err, ErrEndOfInput), soft.Err() != nil:
			return
		default:
			m.errs.Add(1)
			ru.report(fmt.Errorf("pipeline: source %q: read: %w", m.name, err))
			connected = !errors.Is(err, ErrNotConnected)
			if ctxtime.Sleep(soft, backoff) != nil {
				return
			}
			continue
		}
		m.in.Add(1)
		m.inFlight.Add(1)
		ok := send(hard, out, envelope[T]{v: v, tr: newTracker(ack, m)})
		m.inFlight.Add(-1)
		if !ok {
			return
		}
		m.out.Add(1)
	}
}

// To adds the sink sk, named name, consuming in. Calling To several times on
// one Stream fans out to several sinks; an item is acknowledged once every
// sink accepted it. It panics if called after Run started; an invalid cfg or
// a duplicate name is returned by Run.
func To[T any](in *Stream[T], name string, cfg SinkConfig, sk Sink[T]) {
	r := in.r
	idx := in.subscribe()
	m := r.addNode(name, KindSink, cfg.Validate(), nil)
	size := cfg.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	r.mu.Lock()
	r.sinks = append(r.sinks, closer{m: m, close: sk.Close})
	r.starts = append(r.starts, func(hard, _ context.Context, ru *run) {
		ru.wg.Go(func() { consume(hard, ru, m, sk, size, in.subs[idx]) })
	})
	r.mu.Unlock()
}

// consume runs one sink: it writes whatever is ready, up to size items at a
// time, and flushes the sink once its input is closed.
func consume[T any](hard context.Context, ru *run, m *nodeMetrics, sk Sink[T], size int, in <-chan envelope[T]) {
	envs := make([]envelope[T], 0, size)
	vals := make([]T, 0, size)
	for {
		env, ok := recv(hard, in)
		if !ok {
			break
		}
		envs = append(envs[:0], env)
		closed := false
	fill:
		for len(envs) < size {
			select {
			case env, ok := <-in:
				if !ok {
					closed = true
					break fill
				}
				envs = append(envs, env)
			default:
				break fill
			}
		}
		vals = vals[:0]
		for _, e := range envs {
			vals = append(vals, e.v)
		}
		write(hard, ru, m, sk, envs, vals)
		clear(envs)
		clear(vals)
		if closed {
			break
		}
	}
	if f, ok := sk.(Flusher); ok && hard.Err() == nil {
		if err := f.Flush(hard); err != nil {
			m.errs.Add(1)
			ru.report(fmt.Errorf("pipeline: sink %q: flush: %w", m.name, err))
		}
	}
}

// write writes one batch and settles each item: accepted items release their
// tracker, failed ones are reported.
func write[T any](hard context.Context, ru *run, m *nodeMetrics, sk Sink[T], envs []envelope[T], vals []T) {
	n := int64(len(envs))
	m.in.Add(uint64(n))
	m.inFlight.Add(n)
	defer m.inFlight.Add(-n)
	t0 := ru.cfg.Now()
	err := sk.Write(hard, vals)
	m.observe(ru.cfg.Now().Sub(t0))
	var be *BatchError
	perItem := errors.As(err, &be) && len(be.Errs) == len(envs)
	for i, e := range envs {
		itemErr := err
		if perItem {
			itemErr = be.Errs[i]
		}
		if itemErr != nil {
			ru.fail(hard, m, e.v, e.tr, itemErr)
			continue
		}
		m.out.Add(1)
		e.tr.done(hard, ru)
	}
}

// Merge adds a node named name that passes the items of every stream of
// ins on into one Stream, in the order they arrive (a fan-in, such as the
// frames out of a vision stage joining the other sources before the
// aligner). Items keep their acknowledgement; the output closes once every
// input closed. Its metrics count items in and out, and its output queue
// has cfg.Buffer slots. It panics without inputs, with inputs of different
// Runners, or after Run started; an invalid cfg or a duplicate name is
// returned by Run.
func Merge[T any](name string, cfg SourceConfig, ins ...*Stream[T]) *Stream[T] {
	if len(ins) == 0 {
		panic("pipeline: Merge " + name + " of no streams")
	}
	r := ins[0].r
	idx := make([]int, len(ins))
	for i, in := range ins {
		if in.r != r {
			panic("pipeline: Merge " + name + " of streams of different runners")
		}
		idx[i] = in.subscribe()
	}
	out := newStream[T](r, name, cfg.Buffer)
	m := r.addNode(name, KindStage, cfg.Validate(), out.queue)
	r.mu.Lock()
	r.starts = append(r.starts, func(hard, _ context.Context, ru *run) {
		var wg sync.WaitGroup
		for i, in := range ins {
			sub := in.subs[idx[i]]
			wg.Go(func() {
				for {
					env, ok := recv(hard, sub)
					if !ok {
						return
					}
					m.in.Add(1)
					m.inFlight.Add(1)
					sent := send(hard, out.out, env)
					m.inFlight.Add(-1)
					if !sent {
						return
					}
					m.out.Add(1)
				}
			})
		}
		ru.wg.Go(func() {
			wg.Wait()
			close(out.out)
		})
	})
	r.mu.Unlock()
	return out
}
