// Package sourcetest is the conformance suite of the pipeline.Source
// contract, as sink/sinktest is of sinks. Every source implementation runs
// it from its tests, with real parts (a file, an in-process Kafka broker, a
// decoded clip):
//
//	func TestConformance(t *testing.T) {
//		sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[event.Segment] { ... })
//	}
//
// The suite checks that a connected source delivers its items in order and
// then ends (pipeline.ErrEndOfInput, again on every later Read) or, for a
// live source, waits for more until its context is done; that every
// acknowledgement runs once, concurrently with Read, without error; that a
// Read blocked on a live source returns the context's error when the
// context is cancelled, and that a Read with a cancelled context never
// hangs; and that Close succeeds after a partial read, and without Connect
// (the runner closes a source whose Connect always failed).
package sourcetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Fixture is one fresh, unconnected source under test and what it must
// deliver.
type Fixture[T any] struct {
	// Source is the source under test; the suite connects and closes it.
	Source pipeline.Source[T]
	// Items is the number of items the source delivers before it ends or,
	// when Live, before it waits for more; at least 1.
	Items int
	// Live is set for a source that, after its items, waits for more (a
	// topic, a camera) instead of returning pipeline.ErrEndOfInput.
	Live bool
	// Check, when set, checks the items read, in delivery order, against
	// the fixture's reference.
	Check func(t *testing.T, items []T)
}

// Setup creates a fresh Fixture; it registers its own cleanup with t.
type Setup[T any] func(t *testing.T) Fixture[T]

// Timeout bounds each Read, Connect and Close of the suite: ten seconds,
// far above a file read or a loopback round trip, so only a source that
// hangs makes a test wait that long.
const Timeout = 10 * time.Second

// idle is how long the suite waits for a live source to deliver nothing
// more before it cancels the Read.
const idle = 200 * time.Millisecond

// Run runs the conformance suite, each case as a subtest with its own
// fixture.
func Run[T any](t *testing.T, setup Setup[T]) {
	cases := []struct {
		name string
		f    func(t *testing.T, fx Fixture[T])
	}{
		{"ReadsEveryItemThenEnds", testReadsEvery[T]},
		{"CancelledRead", testCancelled[T]},
		{"CloseAfterPartialRead", testCloseEarly[T]},
		{"CloseWithoutConnect", testCloseUnconnected[T]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := setup(t)
			if fx.Items < 1 {
				t.Fatalf("fixture with %d items, want at least 1", fx.Items)
			}
			c.f(t, fx)
		})
	}
}

// connect connects fx's source within Timeout.
func connect[T any](t *testing.T, fx Fixture[T]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := fx.Source.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

// closeSource closes fx's source within Timeout and fails t on an error.
func closeSource[T any](t *testing.T, fx Fixture[T]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := within(t, "Close", func() error { return fx.Source.Close(ctx) }); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// within runs f and fails t if it does not return within Timeout plus a
// second (f's own context should end it by Timeout).
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(Timeout + time.Second):
		t.Fatalf("%s did not return within %v", what, Timeout)
		return nil
	}
}

// read reads one item within Timeout.
func read[T any](t *testing.T, src pipeline.Source[T], i int) (T, pipeline.AckFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	v, ack, err := src.Read(ctx)
	if err != nil {
		t.Fatalf("Read of item %d: %v", i, err)
	}
	return v, ack
}

// testReadsEvery reads every item, acknowledging each once on other
// goroutines while the reads go on, then checks the end of input (or, for
// a live source, that nothing more comes), and closes.
func testReadsEvery[T any](t *testing.T, fx Fixture[T]) {
	connect(t, fx)
	acks := make(chan pipeline.AckFunc, fx.Items)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ackErrs []error
	for range 4 {
		wg.Go(func() {
			for ack := range acks {
				if err := ack(t.Context(), nil); err != nil {
					mu.Lock()
					ackErrs = append(ackErrs, err)
					mu.Unlock()
				}
			}
		})
	}
	items := make([]T, 0, fx.Items)
	for i := range fx.Items {
		v, ack := read(t, fx.Source, i)
		items = append(items, v)
		if ack != nil {
			acks <- ack
		}
	}
	close(acks)
	wg.Wait()
	if err := errors.Join(ackErrs...); err != nil {
		t.Errorf("acknowledgements failed: %v", err)
	}
	if fx.Live {
		ctx, cancel := context.WithTimeout(t.Context(), idle)
		defer cancel()
		if _, _, err := fx.Source.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Read after the %d items of a live source = %v, want the context's deadline", fx.Items, err)
		}
	} else {
		for range 2 {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			_, _, err := fx.Source.Read(ctx)
			cancel()
			if !errors.Is(err, pipeline.ErrEndOfInput) {
				t.Fatalf("Read after the %d items = %v, want pipeline.ErrEndOfInput", fx.Items, err)
			}
		}
	}
	if fx.Check != nil {
		fx.Check(t, items)
	}
	closeSource(t, fx)
}

// testCancelled checks that a Read with a cancelled context returns, with
// an item, the end of input or the context's error and, for a live source,
// that a Read waiting for more returns the context's error once the
// context is cancelled.
func testCancelled[T any](t *testing.T, fx Fixture[T]) {
	connect(t, fx)
	defer closeSource(t, fx)
	done, cancel := context.WithCancel(t.Context())
	cancel()
	err := within(t, "Read with a cancelled context", func() error {
		_, ack, err := fx.Source.Read(done)
		if err == nil && ack != nil {
			return ack(t.Context(), nil)
		}
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, pipeline.ErrEndOfInput) {
		t.Errorf("Read with a cancelled context = %v, want an item, the end of input or context.Canceled", err)
	}
	if !fx.Live {
		return
	}
	// The item a cancelled Read may have returned was the first one.
	n := fx.Items
	if err == nil {
		n--
	}
	for i := range n {
		if _, ack := read(t, fx.Source, i); ack != nil {
			if err := ack(t.Context(), nil); err != nil {
				t.Errorf("ack of item %d: %v", i, err)
			}
		}
	}
	ctx, stop := context.WithCancel(t.Context())
	time.AfterFunc(idle, stop)
	err = within(t, "Read blocked on a live source", func() error {
		_, _, err := fx.Source.Read(ctx)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read cancelled while waiting = %v, want context.Canceled", err)
	}
}

// testCloseEarly reads one item and closes the source.
func testCloseEarly[T any](t *testing.T, fx Fixture[T]) {
	connect(t, fx)
	if _, ack := read(t, fx.Source, 0); ack != nil {
		if err := ack(t.Context(), nil); err != nil {
			t.Errorf("ack: %v", err)
		}
	}
	closeSource(t, fx)
}

// testCloseUnconnected closes a source that was never connected.
func testCloseUnconnected[T any](t *testing.T, fx Fixture[T]) {
	closeSource(t, fx)
}
