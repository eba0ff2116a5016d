package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cmc-stream/cmc-stream/internal/httpguard"
)

// The defaults of Config.
const (
	// DefaultAddr is the default listen address: loopback, port 9464 (the
	// port of the OpenTelemetry Prometheus exporter).
	DefaultAddr = "127.0.0.1:9464"
	// DefaultCheckTimeout bounds one readiness check: well below the 1 s
	// default probe timeout of Kubernetes.
	DefaultCheckTimeout = 800 * time.Millisecond
	// DefaultCacheFor is how long a round of readiness checks answers the
	// probes that follow it.
	DefaultCacheFor = time.Second
)

// Server timeouts: the endpoints answer small GETs.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	// scrapeTimeout bounds gathering the metrics of one scrape.
	scrapeTimeout = 10 * time.Second
	// maxScrapes bounds the scrapes served at once.
	maxScrapes = 4
)

// Config configures a Server. A zero value means the default.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	// Default DefaultAddr.
	Addr string
	// Gatherer is served at /metrics; required (a *prometheus.Registry).
	Gatherer prometheus.Gatherer
	// Checks are the conditions of readiness; none means always ready
	// while the server runs.
	Checks []Check
	// CheckTimeout bounds each check. Default DefaultCheckTimeout.
	CheckTimeout time.Duration
	// CacheFor is how long the result of a round of checks is reused.
	// Default DefaultCacheFor.
	CacheFor time.Duration
	// AllowedHosts are host names, besides those of Addr, that requests
	// may name (see httpguard.Config.AllowedHosts).
	AllowedHosts []string
	// Metrics, when set, receives the counter of refused requests,
	// cmc_http_rejected_total{listener="ops"}.
	Metrics prometheus.Registerer
	// Now is the clock of the readiness cache. Default time.Now.
	Now func() time.Time
}

// Validate checks the fields.
func (c Config) Validate() error {
	if c.Gatherer == nil {
		return errors.New("ops: no Gatherer")
	}
	if c.CheckTimeout < 0 || c.CacheFor < 0 {
		return errors.New("ops: negative CheckTimeout or CacheFor")
	}
	for _, ch := range c.Checks {
		if ch.Name == "" || ch.Func == nil {
			return errors.New("ops: a check without a name or a function")
		}
	}
	return nil
}

// Server serves /metrics, /healthz and /readyz until Close.
type Server struct {
	ln    net.Listener
	srv   *http.Server
	conns httpguard.Conns // srv's connections, for Close
	ready *readiness
	done  chan struct{} // closed by Close
	serr  chan error    // the result of Serve

	closeOnce sync.Once
	closeErr  error
}

// Listen listens on cfg.Addr and starts serving.
func Listen(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rejected := httpguard.NewRejected("ops")
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(rejected); err != nil {
			return nil, fmt.Errorf("ops: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ops: %w", err)
	}
	s := &Server{
		ln: ln,
		ready: &readiness{checks: cfg.Checks, timeout: cmp.Or(cfg.CheckTimeout, DefaultCheckTimeout),
			cacheFor: cmp.Or(cfg.CacheFor, DefaultCacheFor), now: cfg.Now},
		done: make(chan struct{}),
		serr: make(chan error, 1),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
		Timeout:             scrapeTimeout,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok\n") })
	mux.HandleFunc("GET /readyz", s.serveReady)
	s.srv = &http.Server{
		Handler:           httpguard.Handler(httpguard.Config{Listen: cfg.Addr, AllowedHosts: cfg.AllowedHosts, Rejected: rejected}, mux),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ConnState:         s.conns.Track,
	}
	go func() { s.serr <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on, such as
// "127.0.0.1:9464".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready returns nil when every check passes, else the joined reasons
// (each prefixed by its check's name); after Close it reports the server
// closing.
func (s *Server) Ready(ctx context.Context) error {
	select {
	case <-s.done:
		return errors.New("ops: shutting down")
	default:
	}
	return s.ready.check(ctx)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if err := s.Ready(r.Context()); err != nil {
		var b strings.Builder
		b.WriteString("not ready:\n")
		for line := range strings.SplitSeq(err.Error(), "\n") {
			b.WriteString("- " + line + "\n")
		}
		writeText(w, http.StatusServiceUnavailable, b.String())
		return
	}
	writeText(w, http.StatusOK, "ok\n")
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The client went away if this fails; there is nobody to tell.
	_, _ = w.Write([]byte(body))
}

// Close stops serving: it waits for the requests in progress until ctx is
// done, then closes their connections.
// Later calls return the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		close(s.done)
		err := httpguard.Shutdown(ctx, s.srv, &s.conns)
		if err != nil {
			err = errors.Join(err, s.srv.Close())
		}
		if serr := <-s.serr; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("ops: close: %w", err)
		}
	})
	return s.closeErr
}
