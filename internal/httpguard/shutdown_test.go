package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/httpguard"
)

// TestShutdownClosesUnstartedConns opens a connection that never sends a
// request, as Chromium's preconnect does, beside a request in progress:
// Shutdown must wait for the request and answer it, and must not wait for
// the silent connection (plain http.Server.Shutdown waits 5 s for it, past
// this test's 4-second deadline).
func TestShutdownClosesUnstartedConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns httpguard.Conns
	accepted := make(chan struct{}, 2)
	inHandler, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(inHandler)
			<-release
			_, _ = io.WriteString(w, "answered")
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			conns.Track(c, s)
			if s == http.StateNew {
				accepted <- struct{}{}
			}
		},
	}
	serr := make(chan error, 1)
	go func() { serr <- srv.Serve(ln) }()

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	<-accepted
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-inHandler

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- httpguard.Shutdown(ctx, srv, &conns) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was in progress", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v, want nil (the silent connection must not hold it up)", err)
	}
	if got := <-answer; got != "answered" {
		t.Errorf("the request in progress got %q, want its answer", got)
	}
	if err := <-serr; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if err := silent.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("reading the silent connection after Shutdown: %v, want EOF (closed by the server)", err)
	}
}
