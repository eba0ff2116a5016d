package httpguard

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// unstartedGrace is how long a connection may wait for its first request
// once Shutdown has begun before Shutdown closes it. A request on an
// accepted connection is read within milliseconds, even on a busy
// machine; net/http itself waits 5 s before it treats such a connection as
// idle (net/http's closeIdleConns, Go issue 22682), which would hold up
// every shutdown while a browser is open.
const unstartedGrace = 500 * time.Millisecond

// Conns follows the connections of an http.Server whose ConnState is
// Conns.Track, so that Shutdown can close the ones that never sent a
// request: browsers open connections ahead of need (Chromium's
// preconnect) and keep them open without a request. The zero value is
// ready to use.
type Conns struct {
	mu      sync.Mutex
	waiting map[net.Conn]time.Time // connections in http.StateNew, by when they entered it
}

// Track records conn's new state; set it as the server's ConnState.
func (c *Conns) Track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if state != http.StateNew {
		delete(c.waiting, conn)
		return
	}
	if c.waiting == nil {
		c.waiting = make(map[net.Conn]time.Time)
	}
	c.waiting[conn] = time.Now()
}

// closeWaiting closes the connections that have waited for their first
// request since before cutoff.
func (c *Conns) closeWaiting(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, since := range c.waiting {
		if since.Before(cutoff) {
			// The server's goroutine for conn sees the close and
			// reports http.StateClosed, which untracks it.
			_ = conn.Close()
			delete(c.waiting, conn)
		}
	}
}

// Shutdown is srv.Shutdown(ctx) for a server whose ConnState is
// conns.Track, except that a connection that has not sent its first
// request within half a second is closed rather than waited for.
func Shutdown(ctx context.Context, srv *http.Server, conns *Conns) error {
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	tick := time.NewTicker(unstartedGrace / 5)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case now := <-tick.C:
			conns.closeWaiting(now.Add(-unstartedGrace))
		}
	}
}
