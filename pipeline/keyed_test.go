package pipeline_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// keyed is a Keyer stage: x has key x%3, and Process takes (x*7)%5 ms of
// (fake) time, so that without per-key order a later item of a key would
// often finish before an earlier one. It records the most items in flight
// at once, overall and per key, and how many workers it initialised.
type keyed struct {
	mu      sync.Mutex
	active  map[string]int
	maxKey  int
	running int
	maxAll  int
	inits   atomic.Int32
}

func (k *keyed) Key(x int) string { return strconv.Itoa(x % 3) }

func (k *keyed) InitWorker() { k.inits.Add(1) }

func (k *keyed) Process(_ context.Context, x int) ([]int, error) {
	key := k.Key(x)
	k.mu.Lock()
	k.active[key]++
	k.running++
	k.maxKey, k.maxAll = max(k.maxKey, k.active[key]), max(k.maxAll, k.running)
	k.mu.Unlock()
	time.Sleep(time.Duration(x*7%5) * time.Millisecond)
	k.mu.Lock()
	k.active[key]--
	k.running--
	k.mu.Unlock()
	return []int{x}, nil
}

// TestKeyedStage checks that a Keyer stage on 4 workers processes the items
// of one key one at a time and in order, the items of its 3 keys in
// parallel, and that every worker was initialised once (WorkerIniter).
func TestKeyedStage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		items := make([]int, 300)
		for i := range items {
			items[i] = i
		}
		src := &sliceSource{j: j, items: items}
		sink := &recordingSink{name: "sink", j: j}
		st := &keyed{active: map[string]int{}}
		r := newRunner(t, pipeline.Config{})
		out := pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "keyed", pipeline.StageConfig{Workers: 4}, pipeline.Stage[int, int](st))
		pipeline.To(out, "sink", pipeline.SinkConfig{}, sink)
		if err := r.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		got := sink.values()
		if len(got) != len(items) || len(src.ackErrs()) != len(items) {
			t.Fatalf("%d items out, %d acked; want %d", len(got), len(src.ackErrs()), len(items))
		}
		last := map[int]int{}
		for _, x := range got {
			if prev, ok := last[x%3]; ok && x < prev {
				t.Fatalf("item %d of key %d came out after %d", x, x%3, prev)
			}
			last[x%3] = x
		}
		if st.maxKey != 1 || st.maxAll != 3 {
			t.Errorf("at most %d items of one key and %d in all in flight, want 1 and 3", st.maxKey, st.maxAll)
		}
		if n := st.inits.Load(); n != 4 {
			t.Errorf("InitWorker ran %d times, want 4 (once per worker)", n)
		}
		for _, m := range r.Metrics() {
			if m.Name == "keyed" && (m.In != 300 || m.Out != 300 || m.InFlight != 0 || m.Latency.Count != 300) {
				t.Errorf("keyed stage metrics %+v", m)
			}
		}
	})
}

// TestMerge checks that Merge passes on the items of two source groups,
// each acknowledged once the sink accepted it, and counts them.
func TestMerge(t *testing.T) {
	t.Parallel()
	j := &journal{}
	a := &sliceSource{j: j, items: []int{1, 2, 3}}
	b := &sliceSource{j: j, items: []int{100, 200}}
	sink := &recordingSink{name: "sink", j: j}
	r := newRunner(t, pipeline.Config{})
	merged := pipeline.Merge("merge", pipeline.SourceConfig{Buffer: 2},
		pipeline.From(r, "a", pipeline.SourceConfig{}, a), pipeline.From(r, "b", pipeline.SourceConfig{}, b))
	pipeline.To(merged, "sink", pipeline.SinkConfig{}, sink)
	if err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sink.values(); len(got) != 5 {
		t.Errorf("sink got %v, want the 5 items of both sources", got)
	}
	if len(a.ackErrs()) != 3 || len(b.ackErrs()) != 2 {
		t.Errorf("acks %v and %v, want every item", a.ackErrs(), b.ackErrs())
	}
	for _, m := range r.Metrics() {
		if m.Name == "merge" && (m.In != 5 || m.Out != 5 || m.QueueCap != 2 || m.Kind != pipeline.KindStage) {
			t.Errorf("merge metrics %+v", m)
		}
	}
}
