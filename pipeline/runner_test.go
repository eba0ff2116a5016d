package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// fanOut maps x to {10x, 10x+1}, except 3, which yields nothing.
var fanOut = pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) {
	if x == 3 {
		return nil, nil
	}
	return []int{10 * x, 10*x + 1}, nil
})

func newRunner(t *testing.T, cfg pipeline.Config) *pipeline.Runner {
	t.Helper()
	r, err := pipeline.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestAckAfterEverySink(t *testing.T) {
	t.Parallel()
	j := &journal{}
	src := &sliceSource{j: j, items: []int{1, 2, 3, 4, 5}}
	a := &recordingSink{name: "a", j: j}
	b := &recordingSink{name: "b", j: j}
	r := newRunner(t, pipeline.Config{})
	out := pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "fan", pipeline.StageConfig{Workers: 3}, fanOut)
	pipeline.To(out, "a", pipeline.SinkConfig{BatchSize: 2}, a)
	pipeline.To(out, "b", pipeline.SinkConfig{}, b)
	if err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Every item but 3 yields 10x and 10x+1, which both sinks must have
	// accepted before the ack; 3 yields nothing and is acked once processed.
	want := []int{10, 11, 20, 21, 40, 41, 50, 51}
	for _, s := range []*recordingSink{a, b} {
		got := slices.Sorted(slices.Values(s.values()))
		if !slices.Equal(got, want) {
			t.Errorf("sink %s got %v, want %v", s.name, got, want)
		}
	}
	acks := src.ackErrs()
	if len(acks) != 5 {
		t.Fatalf("acked %d items, want 5: %v", len(acks), acks)
	}
	for x, err := range acks {
		if err != nil {
			t.Errorf("ack %d: error %v, want nil", x, err)
		}
		ack := j.index(fmt.Sprintf("ack %d", x))
		if j.index(fmt.Sprintf("read %d", x)) > ack {
			t.Errorf("item %d acked before it was read", x)
		}
		if x == 3 {
			continue
		}
		for _, s := range []string{"a", "b"} {
			for _, v := range []int{10 * x, 10*x + 1} {
				if w := j.index(fmt.Sprintf("%s write %d", s, v)); w < 0 || w > ack {
					t.Errorf("item %d acked at %d, before sink %s accepted %d at %d", x, ack, s, v, w)
				}
			}
		}
	}
	// Sinks flush before they close, and sources close after every ack.
	for _, s := range []string{"a", "b"} {
		if f, c := j.index(s+" flush"), j.index(s+" close"); f < 0 || f > c {
			t.Errorf("sink %s: flush at %d, close at %d", s, f, c)
		}
	}
	closeSrc := j.index("close source")
	for x := range acks {
		if j.index(fmt.Sprintf("ack %d", x)) > closeSrc {
			t.Errorf("source closed before ack %d", x)
		}
	}
}

var errBoom = errors.New("boom")

func TestFailingItemDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		node  string
		stage pipeline.StageFunc[int, int]
		sink  func(j *journal) *recordingSink
		// wantGot is what the sink accepts; item 3 fails.
		wantGot []int
	}{
		{
			name: "stage error",
			node: "stage",
			stage: func(_ context.Context, x int) ([]int, error) {
				if x == 3 {
					return nil, errBoom
				}
				return []int{x}, nil
			},
			sink:    func(j *journal) *recordingSink { return &recordingSink{name: "sink", j: j} },
			wantGot: []int{1, 2, 4, 5},
		},
		{
			name:  "sink per-item error",
			node:  "sink",
			stage: func(_ context.Context, x int) ([]int, error) { return []int{x}, nil },
			sink: func(j *journal) *recordingSink {
				return &recordingSink{name: "sink", j: j, fail: func(v int) error {
					if v == 3 {
						return errBoom
					}
					return nil
				}}
			},
			wantGot: []int{1, 2, 4, 5},
		},
		{
			name:  "sink whole-batch error",
			node:  "sink",
			stage: func(_ context.Context, x int) ([]int, error) { return []int{x}, nil },
			sink: func(j *journal) *recordingSink {
				return &recordingSink{name: "sink", j: j, whole: true, fail: func(v int) error {
					if v == 3 {
						return errBoom
					}
					return nil
				}}
			},
			// Batches of one: only the batch holding 3 fails.
			wantGot: []int{1, 2, 4, 5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			src := &sliceSource{j: j, items: []int{1, 2, 3, 4, 5}}
			sink := tc.sink(j)
			reported := &list[error]{}
			dead := &deadLetters{}
			r := newRunner(t, pipeline.Config{OnError: reported.add, DeadLetter: dead})
			out := pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "stage", pipeline.StageConfig{}, tc.stage)
			pipeline.To(out, "sink", pipeline.SinkConfig{BatchSize: 1}, sink)
			if err := r.Run(t.Context()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sink.values(); !slices.Equal(got, tc.wantGot) {
				t.Errorf("sink got %v, want %v", got, tc.wantGot)
			}
			errs := reported.all()
			if len(errs) != 1 {
				t.Fatalf("reported %d errors, want 1: %v", len(errs), errs)
			}
			var ie *pipeline.ItemError
			if !errors.As(errs[0], &ie) || ie.Node != tc.node || ie.Item != 3 || !errors.Is(ie, errBoom) {
				t.Errorf("reported %#v, want an ItemError for item 3 at %s wrapping errBoom", errs[0], tc.node)
			}
			if dl := dead.all(); len(dl) != 1 || dl[0] != ie {
				t.Errorf("dead letters %v, want the reported ItemError", dl)
			}
			acks := src.ackErrs()
			for x := 1; x <= 5; x++ {
				err, ok := acks[x]
				switch {
				case !ok:
					t.Errorf("item %d not acked", x)
				case err != nil:
					// Item 3's failure is on record in the dead-letter sink.
					t.Errorf("item %d acked with %v, want nil", x, err)
				}
			}
			for _, m := range r.Metrics() {
				want := uint64(0)
				if m.Name == tc.node {
					want = 1
				}
				if m.Errors != want {
					t.Errorf("node %s: %d errors, want %d", m.Name, m.Errors, want)
				}
			}
		})
	}
}

// failingDeadLetter refuses every write.
type failingDeadLetter struct{}

var errDeadLetterDown = errors.New("dead-letter broker down")

func (failingDeadLetter) Write(context.Context, []*pipeline.ItemError) error {
	return errDeadLetterDown
}
func (failingDeadLetter) Close(context.Context) error { return nil }

// TestUnrecordedFailureNotDone checks that a failed item whose failure is on
// record nowhere durable (no dead-letter sink, or its write failed) is
// acknowledged with the failure, so that a source does not commit it, while
// one the dead-letter sink took is acknowledged as done.
func TestUnrecordedFailureNotDone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dl   pipeline.Sink[*pipeline.ItemError]
		want []error // the errors item 3's ack must wrap; nil for a nil ack error
	}{
		{name: "no dead letter", want: []error{errBoom}},
		{name: "dead letter down", dl: failingDeadLetter{}, want: []error{errBoom, errDeadLetterDown}},
		{name: "dead letter written", dl: &deadLetters{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			src := &sliceSource{j: j, items: []int{1, 2, 3, 4}}
			sink := &recordingSink{name: "sink", j: j, fail: func(v int) error {
				if v == 3 {
					return errBoom
				}
				return nil
			}}
			r := newRunner(t, pipeline.Config{DeadLetter: tc.dl})
			pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sink", pipeline.SinkConfig{BatchSize: 1}, sink)
			if err := r.Run(t.Context()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			acks := src.ackErrs()
			for x := 1; x <= 4; x++ {
				err, ok := acks[x]
				if !ok {
					t.Errorf("item %d not acked", x)
					continue
				}
				if x != 3 || tc.want == nil {
					if err != nil {
						t.Errorf("item %d acked with %v, want nil", x, err)
					}
					continue
				}
				for _, w := range tc.want {
					if !errors.Is(err, w) {
						t.Errorf("item 3 acked with %v, want it to wrap %v", err, w)
					}
				}
			}
		})
	}
}

// TestBoundedQueues checks that a stalled sink stops the source after a
// number of reads fixed by the configured sizes, and that cancelling then
// drains every item read.
func TestBoundedQueues(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		src := &sliceSource{j: j, endless: true}
		release := make(chan struct{})
		sink := &recordingSink{name: "sink", j: j, release: release}
		r := newRunner(t, pipeline.Config{})
		in := pipeline.From(r, "src", pipeline.SourceConfig{Buffer: 2}, src)
		id := pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) { return []int{x}, nil })
		out := pipeline.Via(in, "id", pipeline.StageConfig{Workers: 2, Buffer: 1}, id)
		pipeline.To(out, "sink", pipeline.SinkConfig{BatchSize: 1}, sink)

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		errc := make(chan error)
		go func() { errc <- r.Run(ctx) }()
		synctest.Wait()

		// Held: 1 in the sink's Write, 1 in the stage's output buffer, 2 by
		// the workers blocked on send, 2 in the source buffer, 1 by the
		// source blocked on send.
		const held = 1 + 1 + 2 + 2 + 1
		if n := src.readCount(); n != held {
			t.Fatalf("source read %d items while the sink stalled, want %d", n, held)
		}
		want := map[string]struct {
			queue, capacity int
			inFlight        int64
		}{
			"src":  {2, 2, 1},
			"id":   {1, 1, 2},
			"sink": {0, 0, 1},
		}
		for _, m := range r.Metrics() {
			w := want[m.Name]
			if m.Queue != w.queue || m.QueueCap != w.capacity || m.InFlight != w.inFlight {
				t.Errorf("%s: queue %d/%d, in flight %d; want %d/%d, %d", m.Name, m.Queue, m.QueueCap, m.InFlight, w.queue, w.capacity, w.inFlight)
			}
		}

		start := time.Now()
		cancel()
		synctest.Wait() // Run has stopped the sources
		close(release)
		if err := <-errc; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("soft shutdown took %v of fake time, want 0", d)
		}
		if got := sink.values(); len(got) != held {
			t.Errorf("sink accepted %d items after the drain, want %d", len(got), held)
		}
		if acks := src.ackErrs(); len(acks) != held {
			t.Errorf("acked %d items, want %d", len(acks), held)
		}
		if j.count("sink flush") != 1 || j.count("sink close") != 1 {
			t.Errorf("sink flushed %d and closed %d times, want 1 and 1", j.count("sink flush"), j.count("sink close"))
		}
	})
}

func TestHardStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stubborn bool
		// wantAfter is the fake time from cancel to Run's return.
		wantAfter time.Duration
		wantClose int
	}{
		// The sink honours ctx: it returns at the hard stop, 3/4 of 8 s.
		{name: "sink honours ctx", wantAfter: 6 * time.Second, wantClose: 1},
		// The sink ignores ctx: Run gives up after the whole 8 s and leaves
		// it open.
		{name: "sink ignores ctx", stubborn: true, wantAfter: 8 * time.Second, wantClose: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				j := &journal{}
				src := &sliceSource{j: j, items: []int{1, 2, 3}}
				release := make(chan struct{})
				sink := &recordingSink{name: "sink", j: j, release: release, stubborn: tc.stubborn}
				reported := &list[error]{}
				r := newRunner(t, pipeline.Config{ShutdownTimeout: 8 * time.Second, OnError: reported.add})
				pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sink", pipeline.SinkConfig{}, sink)
				ctx, cancel := context.WithCancel(t.Context())
				errc := make(chan error)
				go func() { errc <- r.Run(ctx) }()
				synctest.Wait()
				start := time.Now()
				cancel()
				err := <-errc
				if !errors.Is(err, pipeline.ErrShutdownTimeout) {
					t.Errorf("Run = %v, want ErrShutdownTimeout", err)
				}
				if d := time.Since(start); d != tc.wantAfter {
					t.Errorf("Run returned %v after cancel, want %v", d, tc.wantAfter)
				}
				close(release)
				synctest.Wait()
				if acks := src.ackErrs(); len(acks) != 0 {
					t.Errorf("abandoned items were acked: %v", acks)
				}
				if errs := reported.all(); len(errs) != 0 {
					t.Errorf("abandoned items were reported as failures: %v", errs)
				}
				if n := j.count("sink flush"); n != 0 {
					t.Errorf("sink flushed %d times after a hard stop, want 0", n)
				}
				if n := j.count("sink close"); n != tc.wantClose {
					t.Errorf("sink closed %d times, want %d", n, tc.wantClose)
				}
			})
		})
	}
}

// liveSource blocks in Read until ctx is done, like a camera between frames.
type liveSource struct{ j *journal }

func (liveSource) Connect(context.Context) error { return nil }
func (liveSource) Read(ctx context.Context) (int, pipeline.AckFunc, error) {
	<-ctx.Done()
	return 0, nil, ctx.Err()
}
func (s liveSource) Close(context.Context) error {
	s.j.add("close source")
	return nil
}

func TestCancelStopsBlockedSource(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		sink := &recordingSink{name: "sink", j: j}
		r := newRunner(t, pipeline.Config{})
		pipeline.To(pipeline.From(r, "live", pipeline.SourceConfig{}, pipeline.Source[int](liveSource{j: j})), "sink", pipeline.SinkConfig{}, sink)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- r.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := []string{"sink flush", "sink close", "close source"}
		if !slices.Equal(j.events, want) {
			t.Errorf("events %v, want %v", j.events, want)
		}
	})
}

func TestReconnect(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		errDial := errors.New("dial refused")
		src := &sliceSource{j: j, items: []int{7}, connectErrs: []error{errDial}, readErrs: []error{pipeline.ErrNotConnected}}
		sink := &recordingSink{name: "sink", j: j}
		reported := &list[error]{}
		r := newRunner(t, pipeline.Config{ReconnectBackoff: time.Second, OnError: reported.add})
		pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sink", pipeline.SinkConfig{}, sink)
		start := time.Now()
		if err := r.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// Connect fails at 0 s, succeeds at 1 s; Read loses the connection,
		// Connect succeeds again at 2 s, then the item and the end.
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Run took %v, want 2s", d)
		}
		if src.connects != 3 {
			t.Errorf("Connect called %d times, want 3", src.connects)
		}
		errs := reported.all()
		if len(errs) != 2 || !errors.Is(errs[0], errDial) || !errors.Is(errs[1], pipeline.ErrNotConnected) {
			t.Errorf("reported %v, want the dial error then ErrNotConnected", errs)
		}
		if m := r.Metrics()[0]; m.Errors != 2 || m.Out != 1 {
			t.Errorf("source metrics %+v, want 2 errors and 1 item out", m)
		}
		if got := sink.values(); !slices.Equal(got, []int{7}) {
			t.Errorf("sink got %v, want [7]", got)
		}
	})
}

func TestLatencyHistogram(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		src := &sliceSource{j: j, items: []int{1, 2, 3, 4}}
		sink := &recordingSink{name: "sink", j: j}
		slow := pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) {
			time.Sleep(3 * time.Millisecond) // fake time inside the bubble
			return []int{x}, nil
		})
		r := newRunner(t, pipeline.Config{})
		pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "slow", pipeline.StageConfig{}, slow), "sink", pipeline.SinkConfig{}, sink)
		if err := r.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		m := r.Metrics()[1]
		if m.Name != "slow" || m.Kind != pipeline.KindStage || m.In != 4 || m.Out != 4 {
			t.Fatalf("stage metrics %+v, want slow, 4 in, 4 out", m)
		}
		// 3 ms lies in (1.6 ms, 3.2 ms], bucket 5 of 100 µs << i.
		bounds := pipeline.LatencyBounds()
		if bounds[5] != 3200*time.Microsecond || len(m.Latency.Counts) != len(bounds)+1 {
			t.Fatalf("bounds %v, counts %v", bounds, m.Latency.Counts)
		}
		for i, c := range m.Latency.Counts {
			want := uint64(0)
			if i == 5 {
				want = 4
			}
			if c != want {
				t.Errorf("bucket %d: %d samples, want %d", i, c, want)
			}
		}
		if m.Latency.Count != 4 || m.Latency.Sum != 12*time.Millisecond {
			t.Errorf("count %d, sum %v; want 4, 12ms", m.Latency.Count, m.Latency.Sum)
		}
	})
}

// summer adds its inputs and emits the total when drained.
type summer struct{ sum int }

func (s *summer) Process(_ context.Context, x int) ([]int, error) {
	s.sum += x
	return nil, nil
}

func (s *summer) Drain(context.Context) ([]int, error) { return []int{s.sum}, nil }

func TestDrainer(t *testing.T) {
	t.Parallel()
	j := &journal{}
	src := &sliceSource{j: j, items: []int{1, 2, 3, 4}}
	sink := &recordingSink{name: "sink", j: j}
	r := newRunner(t, pipeline.Config{})
	pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sum", pipeline.StageConfig{}, pipeline.Stage[int, int](&summer{})), "sink", pipeline.SinkConfig{}, sink)
	if err := r.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sink.values(); !slices.Equal(got, []int{10}) {
		t.Errorf("sink got %v, want [10]", got)
	}
	// Inputs that yield no output are acknowledged once processed.
	if acks := src.ackErrs(); len(acks) != 4 {
		t.Errorf("acked %v, want 4 items", acks)
	}
}

func TestWiringErrors(t *testing.T) {
	t.Parallel()
	id := pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) { return []int{x}, nil })
	tests := []struct {
		name  string
		wire  func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int])
		field string
	}{
		{"negative source buffer", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{Buffer: -1}, src), "sink", pipeline.SinkConfig{}, sink)
		}, "SourceConfig.Buffer"},
		{"negative workers", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "id", pipeline.StageConfig{Workers: -1}, id), "sink", pipeline.SinkConfig{}, sink)
		}, "StageConfig.Workers"},
		{"negative tick interval", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "id", pipeline.StageConfig{TickInterval: -1}, id), "sink", pipeline.SinkConfig{}, sink)
		}, "StageConfig.TickInterval"},
		{"negative stage buffer", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "id", pipeline.StageConfig{Buffer: -2}, id), "sink", pipeline.SinkConfig{}, sink)
		}, "StageConfig.Buffer"},
		{"negative batch size", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sink", pipeline.SinkConfig{BatchSize: -1}, sink)
		}, "SinkConfig.BatchSize"},
		{"duplicate name", func(r *pipeline.Runner, src pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.From(r, "x", pipeline.SourceConfig{}, src), "x", pipeline.SinkConfig{}, sink)
		}, `duplicate node name "x"`},
		{"no consumer", func(r *pipeline.Runner, src pipeline.Source[int], _ pipeline.Sink[int]) {
			pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "id", pipeline.StageConfig{}, id)
		}, `output of "id" has no consumer`},
		{"no sources", func(r *pipeline.Runner, _ pipeline.Source[int], sink pipeline.Sink[int]) {
			pipeline.To(pipeline.From[int](r, "src", pipeline.SourceConfig{}), "sink", pipeline.SinkConfig{}, sink)
		}, "no sources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			src := &sliceSource{j: j, items: []int{1}}
			r := newRunner(t, pipeline.Config{})
			tc.wire(r, src, &recordingSink{name: "sink", j: j})
			err := r.Run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Run = %v, want an error naming %s", err, tc.field)
			}
			if src.readCount() != 0 {
				t.Errorf("a miswired pipeline read %d items", src.readCount())
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	j := &journal{}
	r := newRunner(t, pipeline.Config{})
	pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, &sliceSource{j: j}), "sink", pipeline.SinkConfig{}, &recordingSink{name: "sink", j: j})
	if err := r.Run(t.Context()); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if err := r.Run(t.Context()); err == nil {
		t.Error("second Run succeeded, want an error")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   pipeline.Config
		field string
	}{
		{"zero is valid", pipeline.Config{}, ""},
		{"negative shutdown", pipeline.Config{ShutdownTimeout: -time.Second}, "ShutdownTimeout"},
		{"negative backoff", pipeline.Config{ReconnectBackoff: -1}, "ReconnectBackoff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if (err == nil) != (tc.field == "") || (err != nil && !strings.Contains(err.Error(), tc.field)) {
				t.Errorf("Validate = %v, want error naming %q", err, tc.field)
			}
			if _, nerr := pipeline.New(tc.cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New = %v, Validate = %v", nerr, err)
			}
		})
	}
}

// ticking emits 100+n on its n-th tick and passes inputs through.
type ticking struct{ n int }

func (s *ticking) Process(_ context.Context, x int) ([]int, error) { return []int{x}, nil }

func (s *ticking) Tick(context.Context) ([]int, error) {
	s.n++
	return []int{100 + s.n}, nil
}

func TestTicker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		sink := &recordingSink{name: "sink", j: j}
		r := newRunner(t, pipeline.Config{})
		in := pipeline.From(r, "live", pipeline.SourceConfig{}, pipeline.Source[int](liveSource{j: j}))
		pipeline.To(pipeline.Via(in, "tick", pipeline.StageConfig{TickInterval: time.Second}, pipeline.Stage[int, int](&ticking{})), "sink", pipeline.SinkConfig{}, sink)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- r.Run(ctx) }()
		// Ticks at 1 s, 2 s and 3 s fall before the cancel at 3.5 s.
		time.Sleep(3500 * time.Millisecond)
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := sink.values(); !slices.Equal(got, []int{101, 102, 103}) {
			t.Errorf("sink got %v, want [101 102 103]", got)
		}
	})
}

// failingClose is a sink whose Close fails.
type failingClose struct{ recordingSink }

var errClose = errors.New("close failed")

func (s *failingClose) Close(context.Context) error { return errClose }

func TestErrorsAroundItems(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		errRead := errors.New("read failed")
		src := &sliceSource{j: j, items: []int{1}, readErrs: []error{errRead}}
		sink := &failingClose{recordingSink{name: "sink", j: j}}
		reported := &list[error]{}
		r := newRunner(t, pipeline.Config{ReconnectBackoff: 50 * time.Millisecond, OnError: reported.add})
		pipeline.To(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "sink", pipeline.SinkConfig{}, sink)
		start := time.Now()
		err := r.Run(t.Context())
		// A plain read error is reported and retried after the backoff,
		// without reconnecting; the Close error is returned by Run.
		if !errors.Is(err, errClose) {
			t.Errorf("Run = %v, want the Close error", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("Run took %v, want one backoff of 50ms", d)
		}
		if src.connects != 1 {
			t.Errorf("Connect called %d times, want 1", src.connects)
		}
		if errs := reported.all(); len(errs) != 1 || !errors.Is(errs[0], errRead) {
			t.Errorf("reported %v, want the read error", errs)
		}
		if got := sink.values(); !slices.Equal(got, []int{1}) {
			t.Errorf("sink got %v, want [1]", got)
		}
		for _, m := range r.Metrics() {
			if m.Errors != 1 {
				t.Errorf("%s: %d errors, want 1", m.Name, m.Errors)
			}
		}
	})
}
