// Package sse writes the response of one Server-Sent Events client: the
// headers, comments and batches of encoded events, each write bounded by a
// deadline and flushed at once. The HTTP sink's /events and the preview's
// /preview share it.
package sse

import (
	"context"
	"net/http"
	"time"
)

// Stream is the response to one SSE client. It is used by the handler's
// goroutine only.
type Stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	check   func() bool
}

// Start sets the SSE headers of w (text/event-stream, no caching, no proxy
// buffering) and returns its Stream. Each write gets writeTimeout; check,
// when not nil, is called once a write's deadline is set and before it is
// written, and false stops the stream (so whoever moves the deadline to
// the past to cut a stalled write, and then makes check false, stops the
// next write too).
func Start(w http.ResponseWriter, writeTimeout time.Duration, check func() bool) *Stream {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	return &Stream{w: w, rc: http.NewResponseController(w), timeout: writeTimeout, check: check}
}

// Send writes b and flushes it, and reports whether it was written in
// time.
func (s *Stream) Send(b []byte) bool {
	if s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) != nil {
		return false
	}
	if s.check != nil && !s.check() {
		return false
	}
	if _, err := s.w.Write(b); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// Serve writes, until ctx is done or a write fails, the comment
// ": keep-alive" every keepAlive and, each time ready receives, what take
// returns, then calls sent (when not nil).
func (s *Stream) Serve(ctx context.Context, keepAlive time.Duration, ready <-chan struct{}, take func() []byte, sent func()) {
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !s.Send([]byte(": keep-alive\n\n")) {
				return
			}
		case <-ready:
			if !s.Send(take()) {
				return
			}
			if sent != nil {
				sent()
			}
		}
	}
}
