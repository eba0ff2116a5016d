// Package ctxtime waits the way the pipeline's goroutines must: until a
// duration passes or a context is done, whichever comes first.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done: nil when d elapsed, ctx.Err()
// when ctx ended the wait.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
