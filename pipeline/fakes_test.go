package pipeline_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// journal records events in the order they happen; safe for concurrent use.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
	j.mu.Unlock()
}

// index returns the position of event, or -1.
func (j *journal) index(event string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Index(j.events, event)
}

func (j *journal) count(event string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, e := range j.events {
		if e == event {
			n++
		}
	}
	return n
}

// sliceSource replays items, then reports ErrEndOfInput; with endless set
// it counts up forever instead. Every ack is journaled as "ack N" and its
// error kept in acks.
type sliceSource struct {
	j       *journal
	items   []int
	endless bool
	// readErrs are returned by the first Reads, one per call.
	readErrs []error
	// connectErrs are returned by the first Connects, one per call.
	connectErrs []error

	mu       sync.Mutex
	next     int
	reads    int
	connects int
	acks     map[int]error
}

func (s *sliceSource) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connects++
	if len(s.connectErrs) > 0 {
		err := s.connectErrs[0]
		s.connectErrs = s.connectErrs[1:]
		return err
	}
	return nil
}

func (s *sliceSource) Read(context.Context) (int, pipeline.AckFunc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.readErrs) > 0 {
		err := s.readErrs[0]
		s.readErrs = s.readErrs[1:]
		return 0, nil, err
	}
	var v int
	switch {
	case s.endless:
		v = s.next + 1
	case s.next < len(s.items):
		v = s.items[s.next]
	default:
		return 0, nil, pipeline.ErrEndOfInput
	}
	s.next++
	s.reads++
	s.j.add("read %d", v)
	return v, func(_ context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.acks == nil {
			s.acks = map[int]error{}
		}
		if _, dup := s.acks[v]; dup {
			panic(fmt.Sprintf("item %d acknowledged twice", v))
		}
		s.acks[v] = err
		s.j.add("ack %d", v)
		return nil
	}, nil
}

func (s *sliceSource) Close(context.Context) error {
	s.j.add("close source")
	return nil
}

func (s *sliceSource) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *sliceSource) ackErrs() map[int]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.acks)
}

// recordingSink records what it accepts and journals "<name> write N".
type recordingSink struct {
	name string
	j    *journal
	// release, when set, makes Write wait for it (or for ctx).
	release chan struct{}
	// stubborn makes Write wait for release even after ctx is done.
	stubborn bool
	// fail returns the error for one value, nil to accept it.
	fail func(v int) error
	// whole makes a failure fail the whole batch instead of one item.
	whole bool

	mu      sync.Mutex
	got     []int
	batches []int
}

func (s *recordingSink) Write(ctx context.Context, batch []int) error {
	if s.release != nil {
		if s.stubborn {
			<-s.release
		} else {
			select {
			case <-s.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, len(batch))
	errs := make([]error, len(batch))
	failed := false
	for i, v := range batch {
		if s.fail != nil {
			errs[i] = s.fail(v)
		}
		if errs[i] != nil {
			failed = true
			continue
		}
		s.got = append(s.got, v)
		s.j.add("%s write %d", s.name, v)
	}
	switch {
	case !failed:
		return nil
	case s.whole:
		return fmt.Errorf("sink %s: %w", s.name, firstErr(errs))
	default:
		return &pipeline.BatchError{Errs: errs}
	}
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *recordingSink) Flush(context.Context) error {
	s.j.add("%s flush", s.name)
	return nil
}

func (s *recordingSink) Close(context.Context) error {
	s.j.add("%s close", s.name)
	return nil
}

func (s *recordingSink) values() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// list is an append-only list safe for concurrent use.
type list[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *list[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

func (l *list[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// deadLetters records dead-lettered items.
type deadLetters struct{ list[*pipeline.ItemError] }

func (d *deadLetters) Write(_ context.Context, batch []*pipeline.ItemError) error {
	for _, ie := range batch {
		d.add(ie)
	}
	return nil
}

func (d *deadLetters) Close(context.Context) error { return nil }
