package sink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/sinktest"
)

func newHTTP(t *testing.T, cfg sink.HTTPConfig) *sink.HTTP {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	h, err := sink.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// sseEvent is one Server-Sent Event as a client parses it.
type sseEvent struct {
	id, typ, data string
	err           error
}

// subscribe connects an SSE client to /events and returns once the server
// confirmed the subscription; the events arrive on the channel, which is
// closed when the stream ends.
func subscribe(t *testing.T, h *sink.HTTP) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addr()+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != ": connected\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	out := make(chan sseEvent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		defer resp.Body.Close()
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					out <- sseEvent{err: err}
				}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.data != "" {
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return out
}

func sseReader(events <-chan sseEvent) sinktest.Reader {
	return func(ctx context.Context, n int) ([]event.Event, error) {
		var evs []event.Event
		for len(evs) < n {
			select {
			case ev, ok := <-events:
				if !ok {
					return nil, io.ErrUnexpectedEOF
				}
				if ev.err != nil {
					return nil, ev.err
				}
				var e event.Event
				if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
					return nil, err
				}
				if ev.id != e.EventID || ev.typ != "sentiment" {
					return nil, fmt.Errorf("SSE id %q type %q for event %q", ev.id, ev.typ, e.EventID)
				}
				evs = append(evs, e)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return evs, nil
	}
}

func TestHTTPConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Reader) {
		h := newHTTP(t, sink.HTTPConfig{})
		return h, sseReader(subscribe(t, h))
	})
}

func TestHTTPFanOut(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{})
	readers := make([]sinktest.Reader, 5)
	for i := range readers {
		readers[i] = sseReader(subscribe(t, h))
	}
	evs := sinktest.Events(20, 4)
	if err := h.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	for i, read := range readers {
		ctx, cancel := context.WithTimeout(t.Context(), sinktest.Timeout)
		got, err := read(ctx, len(evs))
		cancel()
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		for j := range got {
			if got[j].EventID != evs[j].EventID {
				t.Fatalf("client %d event %d: %s, want %s", i, j, got[j].EventID, evs[j].EventID)
			}
		}
	}
}

// metric reads one sample from /metrics, name with its labels if any.
func metric(t *testing.T, h *sink.HTTP, name string) float64 {
	t.Helper()
	body := get(t, h, "/metrics", http.StatusOK)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s in\n%s", name, body)
	return 0
}

func get(t *testing.T, h *sink.HTTP, path string, status int) string {
	t.Helper()
	resp, err := http.Get("http://" + h.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return string(b)
}

func TestHTTPEndpoints(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{
		Static: fstest.MapFS{"index.html": {Data: []byte("<h1>dashboard</h1>")}},
	})
	// The probes are the operations port's (internal/ops).
	get(t, h, "/healthz", http.StatusNotFound)
	get(t, h, "/readyz", http.StatusNotFound)
	if body := get(t, h, "/", http.StatusOK); body != "<h1>dashboard</h1>" {
		t.Errorf("/ body %q", body)
	}
	get(t, h, "/missing.js", http.StatusNotFound)

	sub := sseReader(subscribe(t, h))
	if err := h.Write(t.Context(), sinktest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), sinktest.Timeout)
	defer cancel()
	if _, err := sub(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	body := get(t, h, "/metrics", http.StatusOK)
	for _, want := range []string{
		"cmc_sink_http_events_total 3\n",
		"cmc_sink_http_sse_clients 1\n",
		"cmc_sink_http_sse_dropped_total 0\n",
		"cmc_sink_http_sse_delivery_seconds_count 3\n",
		"# TYPE cmc_sink_http_sse_delivery_seconds histogram\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestHTTPNoStatic(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{})
	get(t, h, "/", http.StatusNotFound)
}

func TestHTTPMaxClients(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{MaxClients: 1})
	subscribe(t, h)
	get(t, h, "/events", http.StatusServiceUnavailable)
}

func TestHTTPCloseEndsStreams(t *testing.T) {
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, h)
	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.err != nil {
			t.Fatalf("stream ended with %v, want EOF", ev.err)
		}
	}
	if _, err := http.Get("http://" + h.Addr() + "/metrics"); err == nil {
		t.Fatal("server still answers after Close")
	}
}

// TestHTTPCloseBrowserPreconnect closes the sink while a connection that
// never sent a request is open, as Chromium opens one ahead of need:
// Close must not wait for it (net/http alone waits 5 s, past the 4-second
// deadline here; the dashboard test's cleanup failed that way).
func TestHTTPCloseBrowserPreconnect(t *testing.T) {
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, h)
	silent, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	get(t, h, "/metrics", http.StatusOK) // served after the silent connection was accepted
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for range events {
	}
}

func TestHTTPConfig(t *testing.T) {
	for _, cfg := range []sink.HTTPConfig{
		{Addr: "127.0.0.1:0", ClientBuffer: -1},
		{Addr: "127.0.0.1:0", KeepAlive: -1},
		{Addr: "256.0.0.1:0"},
	} {
		if h, err := sink.NewHTTP(cfg); err == nil {
			h.Close(t.Context())
			t.Errorf("NewHTTP(%+v) accepted", cfg)
		}
	}
}
