package ops_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cmc-stream/cmc-stream/internal/ops"
)

// listen starts a server on a free loopback port, closed at the end of the
// test.
func listen(t *testing.T, cfg ops.Config) *ops.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := ops.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// get sends GET path to s with a real client, with host as the Host
// header when not empty, and returns the response and its body.
func get(t *testing.T, s *ops.Server, path, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// clock is a settable clock for the readiness cache.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_test_events_total", Help: "Events."})
	reg.MustRegister(events)
	events.Add(3)
	var broken atomic.Bool
	broken.Store(true)
	clk := newClock()
	s := listen(t, ops.Config{Gatherer: reg, Now: clk.now, Checks: []ops.Check{
		{Name: `kafka events topic "out"`, Func: func(context.Context) error {
			if broken.Load() {
				return errors.New("connection refused")
			}
			return nil
		}},
		{Name: "pipeline", Func: func(context.Context) error { return nil }},
	}})

	resp, body := get(t, s, "/metrics", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "# TYPE cmc_test_events_total counter\ncmc_test_events_total 3\n") {
		t.Errorf("/metrics: %s\n%s", resp.Status, body)
	}
	if resp, body := get(t, s, "/healthz", ""); resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}
	resp, body = get(t, s, "/readyz", "")
	if want := "not ready:\n- kafka events topic \"out\": connection refused\n"; resp.StatusCode != http.StatusServiceUnavailable || body != want {
		t.Errorf("/readyz: %s %q, want 503 %q", resp.Status, body, want)
	}
	// The result holds for CacheFor (1 s), then the checks run again.
	broken.Store(false)
	if resp, _ := get(t, s, "/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz within the cache period: %s, want the cached 503", resp.Status)
	}
	clk.add(ops.DefaultCacheFor)
	if resp, body := get(t, s, "/readyz", ""); resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz after the cache period: %s %q", resp.Status, body)
	}
	if resp, _ := get(t, s, "/missing", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/missing: %s", resp.Status)
	}
}

// TestReadinessShared sends 20 probes at once while a slow check runs, on
// a clock that stands still: they share one round of checks, the probes
// that arrive during the round by waiting for it, the later ones from the
// cache.
func TestReadinessShared(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	clk := newClock()
	s := listen(t, ops.Config{Gatherer: prometheus.NewRegistry(), Now: clk.now, Checks: []ops.Check{{Name: "slow", Func: func(ctx context.Context) error {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}}})
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			resp, _ := get(t, s, "/readyz", "")
			codes[i] = resp.StatusCode
		})
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("probe %d: %d", i, c)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the check ran %d times for 20 probes within the cache period, want 1", n)
	}
}

// TestCheckTimeout: a check that never answers is cut at CheckTimeout
// and reported as such.
func TestCheckTimeout(t *testing.T) {
	s := listen(t, ops.Config{Gatherer: prometheus.NewRegistry(), CheckTimeout: 50 * time.Millisecond,
		Checks: []ops.Check{{Name: "stuck", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}}})
	resp, body := get(t, s, "/readyz", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "stuck: context deadline exceeded") {
		t.Errorf("/readyz: %s %q", resp.Status, body)
	}
}

func TestCloseNotReady(t *testing.T) {
	s, err := ops.Listen(ops.Config{Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("ready without checks: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err == nil {
		t.Error("ready after Close")
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Error("still serving after Close")
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfig(t *testing.T) {
	for name, cfg := range map[string]ops.Config{
		"no gatherer":   {Addr: "127.0.0.1:0"},
		"bad address":   {Addr: "256.0.0.1:0", Gatherer: prometheus.NewRegistry()},
		"nameless":      {Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), Checks: []ops.Check{{Func: func(context.Context) error { return nil }}}},
		"negative time": {Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), CacheFor: -1},
	} {
		if s, err := ops.Listen(cfg); err == nil {
			s.Close(t.Context())
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestForgedHost: a page whose name was rebound to the loopback address
// (DNS rebinding) is refused on every endpoint with 421, counted, and the
// answers carry the security headers.
func TestForgedHost(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := listen(t, ops.Config{Gatherer: reg, Metrics: reg})
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, _ := get(t, s, path, "attacker.example:9464")
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET %s with a forged Host: %s, want 421", path, resp.Status)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: security headers missing: %v", path, resp.Header)
		}
	}
	if resp, _ := get(t, s, "/healthz", "localhost:9464"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz as localhost: %s", resp.Status)
	}
	_, body := get(t, s, "/metrics", "")
	if !strings.Contains(body, `cmc_http_rejected_total{listener="ops",reason="host"} 3`) {
		t.Errorf("the refusals are not counted:\n%s", body)
	}
}
