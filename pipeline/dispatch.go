package pipeline

import (
	"context"
	"slices"
)

// dispatcher feeds the workers of a stage that implements Keyer: an item
// goes to a free worker once no worker is processing an item of the same
// key, so the items of one key are processed one at a time, in arrival
// order, and those of different keys in parallel.
type dispatcher[In any] struct {
	key Keyer[In]
	m   *nodeMetrics
	// workers holds one unbuffered input channel per worker, closed by run
	// once the stage's input is closed and every item was handed over.
	workers []chan envelope[In]
	// free receives the index of a worker that finished an item. A worker
	// is handed an item only after the dispatcher received its previous
	// index, so each worker has at most one index in the channel, which
	// holds one per worker: a worker never blocks on it, even after run
	// returned.
	free chan int
}

func newDispatcher[In any](key Keyer[In], workers int, m *nodeMetrics) *dispatcher[In] {
	d := &dispatcher[In]{key: key, m: m, workers: make([]chan envelope[In], workers), free: make(chan int, workers)}
	for i := range d.workers {
		d.workers[i] = make(chan envelope[In])
	}
	return d
}

// waiting is an item held by the dispatcher until a worker may take it.
type waiting[In any] struct {
	env envelope[In]
	key string
}

// run dispatches the items of in until in is closed and every item was
// handed over, or hard is done. It holds at most one waiting item per
// worker, counted in the node's items in flight.
func (d *dispatcher[In]) run(hard context.Context, in <-chan envelope[In]) {
	defer func() {
		for _, c := range d.workers {
			close(c)
		}
	}()
	n := len(d.workers)
	idle := make([]int, n) // the free workers
	for i := range idle {
		idle[i] = i
	}
	busy := make([]string, n) // the key each busy worker processes
	var queue []waiting[In]
	defer func() { d.m.inFlight.Add(-int64(len(queue))) }()
	open := true
	for open || len(queue) > 0 {
		// Hand over every item whose key no worker processes and that no
		// earlier waiting item of the same key precedes.
		for len(idle) > 0 {
			i := d.next(queue, idle, busy)
			if i < 0 {
				break
			}
			w := idle[len(idle)-1]
			if !send(hard, d.workers[w], queue[i].env) {
				return
			}
			d.m.inFlight.Add(-1)
			idle, busy[w] = idle[:len(idle)-1], queue[i].key
			queue = slices.Delete(queue, i, i+1)
		}
		recvIn := in
		if !open || len(queue) >= n {
			recvIn = nil
		}
		select {
		case env, ok := <-recvIn:
			if !ok {
				open = false
				continue
			}
			d.m.inFlight.Add(1)
			queue = append(queue, waiting[In]{env: env, key: d.key.Key(env.v)})
		case w := <-d.free:
			idle, busy[w] = append(idle, w), ""
		case <-hard.Done():
			return
		}
	}
}

// next returns the index in queue of the first item that a free worker may
// take, or -1.
func (d *dispatcher[In]) next(queue []waiting[In], idle []int, busy []string) int {
	for i, q := range queue {
		blocked := slices.ContainsFunc(queue[:i], func(p waiting[In]) bool { return p.key == q.key })
		for w, k := range busy {
			if k == q.key && !slices.Contains(idle, w) {
				blocked = true
			}
		}
		if !blocked {
			return i
		}
	}
	return -1
}
