package sse

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestStream: a client gets the SSE headers, the comment sent first and
// the events taken at each wake-up, in order; once the check fails, the
// next write is not made and the stream ends.
func TestStream(t *testing.T) {
	ready := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allow, n := true, 0
		s := Start(w, 10*time.Second, func() bool { return allow })
		if !s.Send([]byte(": connected\n\n")) {
			return
		}
		take := func() []byte { n++; return fmt.Appendf(nil, "data: %d\n\n", n) }
		s.Serve(r.Context(), time.Hour, ready, take, func() { allow = n < 2 })
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "text/event-stream" || cc != "no-cache" {
		t.Errorf("headers %q, %q", ct, cc)
	}
	r := bufio.NewReader(resp.Body)
	expect := func(want string) {
		t.Helper()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	expect(": connected\n\n")
	ready <- struct{}{}
	expect("data: 1\n\n")
	ready <- struct{}{}
	expect("data: 2\n\n")
	ready <- struct{}{} // the check fails: nothing more is written
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Errorf("after the failed check: %q, %v; want the end of the stream", rest, err)
	}
}
