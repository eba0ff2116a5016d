package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Check is one condition of readiness.
type Check struct {
	// Name says what is checked, such as `kafka events topic "events"`; it
	// prefixes the check's error in /readyz.
	Name string
	// Func returns nil when ready, else the reason. It must be safe for
	// concurrent use and return soon after ctx is done.
	Func func(ctx context.Context) error
}

// readiness aggregates checks: one round at a time, shared by the callers
// that arrive while it runs, its result reused for cacheFor.
type readiness struct {
	checks   []Check
	timeout  time.Duration
	cacheFor time.Duration
	now      func() time.Time

	mu      sync.Mutex
	at      time.Time     // when the last round ended
	last    error         // its result
	done    bool          // a round has ended
	running chan struct{} // closed when the running round ends; nil if none
}

// check returns the result of the latest round of checks if it ended less
// than cacheFor ago, else that of a new round (or of the round running),
// or ctx's error if ctx ends first.
func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	if r.done && r.now().Sub(r.at) < r.cacheFor {
		err := r.last
		r.mu.Unlock()
		return err
	}
	running := r.running
	if running == nil {
		running = make(chan struct{})
		r.running = running
		// The round outlives a probe that gives up: the others wait for it.
		go r.round(context.WithoutCancel(ctx), running)
	}
	r.mu.Unlock()
	select {
	case <-running:
	case <-ctx.Done():
		return fmt.Errorf("ops: readiness: %w", ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// round runs every check concurrently, each within r.timeout, records the
// joined errors, and closes running.
func (r *readiness) round(ctx context.Context, running chan struct{}) {
	errs := make([]error, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			if err := c.Func(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.Name, err)
			}
		})
	}
	wg.Wait()
	r.mu.Lock()
	r.last, r.at, r.done, r.running = errors.Join(errs...), r.now(), true, nil
	r.mu.Unlock()
	close(running)
}
