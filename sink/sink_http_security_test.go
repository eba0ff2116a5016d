package sink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/httpguard"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/sinktest"
)

// request sends GET path to h with a real client, with the Host header
// host (the address's when empty) and the extra headers, and returns the
// response with its body read.
func request(t *testing.T, h *sink.HTTP, path, host string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+h.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// An accepted /events never ends: read what came within the timeout.
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestHTTPForgedHost: a page of another site whose name was rebound to
// the loopback address (DNS rebinding) reaches the sink with its own name
// as Host: refused with 421 on every route, and counted.
func TestHTTPForgedHost(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{Static: fstest.MapFS{"index.html": {Data: []byte("<h1>dashboard</h1>")}}})
	for _, path := range []string{"/", "/events", "/metrics"} {
		if resp, _ := request(t, h, path, "attacker.example:8080", nil); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET %s with a forged Host: %s, want 421", path, resp.Status)
		}
	}
	if resp, body := request(t, h, "/", "localhost:8080", nil); resp.StatusCode != http.StatusOK || body != "<h1>dashboard</h1>" {
		t.Errorf("GET / as localhost: %s %q", resp.Status, body)
	}
	if got := metric(t, h, `cmc_http_rejected_total{listener="dashboard",reason="host"}`); got != 3 {
		t.Errorf("%v host rejections counted, want 3", got)
	}
}

// TestHTTPSecurityHeaders checks the headers of the dashboard's page, of
// /events and of /metrics.
func TestHTTPSecurityHeaders(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{Static: fstest.MapFS{"index.html": {Data: []byte("<h1>dashboard</h1>")}}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, path := range []string{"/", "/metrics", "/events"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, v := range map[string]string{
			"Content-Security-Policy": httpguard.PageCSP,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
			}
		}
	}
}

// TestHTTPToken: with a token, /events, the page and /metrics need it;
// the header, the query parameter and the cookie the page's redirect sets
// each open the feed.
func TestHTTPToken(t *testing.T) {
	const token = "c2VjcmV0LXRva2VuLWZvci10aGUtZGFzaGJvYXJk"
	h := newHTTP(t, sink.HTTPConfig{Token: token, Static: fstest.MapFS{"index.html": {Data: []byte("<h1>dashboard</h1>")}}})
	for _, path := range []string{"/", "/events", "/metrics", "/events?token=wrong"} {
		if resp, _ := request(t, h, path, "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %s, want 401", path, resp.Status)
		}
	}
	resp, _ := request(t, h, "/?token="+token, "", nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("GET /?token=: %s, cookies %v; want 303 and the cookie", resp.Status, resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	for name, hdr := range map[string]http.Header{
		"header": {"Authorization": {"Bearer " + token}},
		"cookie": {"Cookie": {cookie.Name + "=" + cookie.Value}},
	} {
		if resp, body := request(t, h, "/", "", hdr); resp.StatusCode != http.StatusOK || body != "<h1>dashboard</h1>" {
			t.Errorf("GET / with the %s: %s %q", name, resp.Status, body)
		}
		if resp, body := request(t, h, "/events", "", hdr); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, ": connected\n") {
			t.Errorf("GET /events with the %s: %s %q", name, resp.Status, body)
		}
	}
	if resp, _ := request(t, h, "/events?token="+token, "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /events?token=: %s", resp.Status)
	}
	if _, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0", Token: "short"}); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("a short token: %v", err)
	}
}

// TestHTTPNewlineInID writes an event whose id carries line breaks that
// would forge SSE fields (retry, event, id) and reads the stream with a
// parser that follows the SSE specification (CR, LF and CRLF end lines):
// one event of type sentiment, no retry field, the id encoded, the data
// the exact event.
func TestHTTPNewlineInID(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), sinktest.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addr()+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != ": connected\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	ev := sinktest.Events(1, 1)[0]
	const forged = "call\nretry: 86400000\r\nevent: forged\rid: x\x00%"
	ev.EventID = forged + "/utt/0"
	ev.StreamID = forged
	ev.Transcript = "line one\nretry: 1\r\ndata: two"
	if err := h.Write(t.Context(), []event.Event{ev}); err != nil {
		t.Fatal(err)
	}
	// The SSE parser: fields until the blank line that ends the event.
	fields := map[string][]string{}
	var line []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("stream ended: %v (fields %q)", err, fields)
		}
		if b != '\n' && b != '\r' {
			line = append(line, b)
			continue
		}
		if b == '\r' {
			if next, err := br.Peek(1); err == nil && next[0] == '\n' {
				_, _ = br.ReadByte()
			}
		}
		if len(line) == 0 {
			if len(fields) > 0 {
				break
			}
			continue
		}
		name, value, _ := strings.Cut(string(line), ":")
		if name == "" { // a comment
			line = line[:0]
			continue
		}
		fields[name] = append(fields[name], strings.TrimPrefix(value, " "))
		line = line[:0]
	}
	if len(fields) != 3 || len(fields["retry"]) != 0 || strings.Join(fields["event"], ",") != "sentiment" || len(fields["data"]) != 1 {
		t.Fatalf("fields %q, want one id, one event: sentiment and one data line", fields)
	}
	if want := "call%0Aretry: 86400000%0D%0Aevent: forged%0Did: x%00%25/utt/0"; strings.Join(fields["id"], ",") != want {
		t.Errorf("id %q, want %q", fields["id"], want)
	}
	var got event.Event
	if err := json.Unmarshal([]byte(fields["data"][0]), &got); err != nil {
		t.Fatal(err)
	}
	if got.EventID != ev.EventID || got.StreamID != forged || got.Transcript != ev.Transcript {
		t.Errorf("data carries %q %q %q, want the event as written", got.EventID, got.StreamID, got.Transcript)
	}
}

// stalledClient opens /events from the loopback address local without
// ever reading the stream, and returns the connection.
func stalledClient(t *testing.T, h *sink.HTTP, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.DialContext(t.Context(), "tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", h.Addr()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestHTTPStalledClientEvicted stalls one client (it never reads) while a
// live client reads every event, until more than the loopback socket
// buffers (a receive buffer that does not grow while nobody reads, 128
// KiB by default, at most 4 MiB of send buffer, net.ipv4.tcp_wmem's
// default maximum) and the client's queue of 2 events hold: the stalled
// client is disconnected and counted, the live one receives every event,
// and the sink never blocks.
func TestHTTPStalledClientEvicted(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{ClientBuffer: 2})
	live := subscribe(t, h)
	stalled := stalledClient(t, h, "127.0.0.1")
	waitMetric(t, h, "cmc_sink_http_sse_clients", 2)
	// 8 MiB in events of 64 KiB: twice the socket buffers.
	const n = 128
	evs := sinktest.Events(n, 1)
	for i := range evs {
		evs[i].Transcript = strings.Repeat("x", 64<<10)
		if err := h.Write(t.Context(), evs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		// The live client takes each event before the next is written.
		select {
		case ev, ok := <-live:
			if !ok || ev.err != nil || ev.id != evs[i].EventID {
				t.Fatalf("live client: event %d is %q, %v (open %v)", i, ev.id, ev.err, ok)
			}
		case <-time.After(sinktest.Timeout):
			t.Fatalf("live client: no event %d", i)
		}
	}
	if got := metric(t, h, "cmc_sink_http_sse_evicted_total"); got != 1 {
		t.Fatalf("%v clients evicted, want the stalled one", got)
	}
	if got := metric(t, h, "cmc_sink_http_sse_dropped_total"); got == 0 {
		t.Error("the stalled client's missed events were not counted")
	}
	waitMetric(t, h, "cmc_sink_http_sse_clients", 1)
	// The stalled client's connection was closed: reading it now drains
	// what the socket buffers held, then ends.
	if err := stalled.SetReadDeadline(time.Now().Add(sinktest.Timeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, stalled); err != nil {
		t.Errorf("the stalled client's connection did not end: %v", err)
	}
}

// TestHTTPClientsPerAddr: idle clients of one address take at most
// MaxClientsPerAddr places (429 beyond), so a client from another address
// still gets in (today's lock-out was 64 idle clients for everyone).
func TestHTTPClientsPerAddr(t *testing.T) {
	h := newHTTP(t, sink.HTTPConfig{MaxClientsPerAddr: 3})
	for range 3 {
		stalledClient(t, h, "127.0.0.2")
	}
	waitMetric(t, h, "cmc_sink_http_sse_clients", 3)
	conn := stalledClient(t, h, "127.0.0.2")
	if err := conn.SetReadDeadline(time.Now().Add(sinktest.Timeout)); err != nil {
		t.Fatal(err)
	}
	if status, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(status, " 429 ") {
		t.Errorf("a fourth client of 127.0.0.2: %q, %v; want 429", status, err)
	}
	other := sseReader(subscribe(t, h)) // from 127.0.0.1
	if err := h.Write(t.Context(), sinktest.Events(1, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), sinktest.Timeout)
	defer cancel()
	if _, err := other(ctx, 1); err != nil {
		t.Errorf("a client of another address: %v", err)
	}
	if got := metric(t, h, `cmc_http_rejected_total{listener="dashboard",reason="clients_per_addr"}`); got != 1 {
		t.Errorf("%v per-address rejections counted, want 1", got)
	}
}

// waitMetric waits until the sample name reads want.
func waitMetric(t *testing.T, h *sink.HTTP, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(sinktest.Timeout)
	for metric(t, h, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %v", name, metric(t, h, name), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
