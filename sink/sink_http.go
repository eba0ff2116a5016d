package sink

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/httpguard"
	"github.com/cmc-stream/cmc-stream/internal/sse"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// HTTPConfig configures an HTTP sink. A zero value means the default.
type HTTPConfig struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	// Default "127.0.0.1:8080": loopback; bind a routable address
	// deliberately, with a Token.
	Addr string
	// ClientBuffer is the number of events queued per SSE client. A client
	// that has not taken ClientBuffer events (its connection stalled) is
	// disconnected when the next event comes, and counted
	// (cmc_sink_http_sse_evicted_total, and the events it missed in
	// cmc_sink_http_sse_dropped_total); the sink never blocks on a client
	// and the other clients are not affected. A browser's EventSource
	// reconnects by itself. Default 256.
	ClientBuffer int
	// MaxClients bounds the concurrent SSE clients; more get 503.
	// Default 64.
	MaxClients int
	// MaxClientsPerAddr bounds the concurrent SSE clients of one remote IP
	// address, so that one host cannot take every place; more get 429.
	// Behind a reverse proxy every client has the proxy's address: raise it
	// to MaxClients there. Default 8.
	MaxClientsPerAddr int
	// KeepAlive is the interval of SSE comment lines that keep idle
	// connections and proxies open. Default 15 s.
	KeepAlive time.Duration
	// ReadHeaderTimeout bounds reading a request's headers. Default 5 s.
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds writing a response, and for SSE each event
	// written to a client; a client that stalls longer is disconnected.
	// Default 10 s.
	WriteTimeout time.Duration
	// IdleTimeout bounds keep-alive connections between requests.
	// Default 60 s.
	IdleTimeout time.Duration
	// History is the number of recent records (events, alerts, the
	// summary) kept per stream and sent to an SSE client when it connects,
	// so a dashboard opened mid-call shows what it missed. Default 64.
	History int
	// HistoryStreams bounds the streams whose history is kept; the stream
	// updated least recently is forgotten first. Default 256.
	HistoryStreams int
	// Static is served at / (the dashboard). Default nil: / answers 404.
	Static fs.FS
	// Preview, when set, is served at /preview (the dashboard's live
	// frames, package sink/preview), behind the same Host check and token;
	// its requests' contexts end when the sink closes. Default nil:
	// /preview answers 404.
	Preview http.Handler
	// Metrics is the registry served at /metrics (the dashboard reads its
	// drop counters there), on which the sink registers its own metrics (so
	// one registry serves one HTTP sink). Default: a new registry with only
	// the sink's metrics.
	Metrics *prometheus.Registry
	// AllowedHosts are host names, besides those of Addr and the loopback
	// names, that requests may name in their Host header (a proxy's public
	// name); others get 421 (see package internal/httpguard).
	AllowedHosts []string
	// Token, when set, is required on every request (/events, the
	// dashboard, /metrics): as "Authorization: Bearer TOKEN", the query
	// parameter token, or the cookie cmc_token, which opening the page
	// once with ?token=TOKEN sets (see internal/httpguard; an EventSource
	// cannot send headers). httpguard.ValidateToken says what a token may
	// hold. Default: none.
	Token string
}

// The defaults of HTTPConfig.
const (
	// DefaultHTTPAddr is the default listen address, loopback only.
	DefaultHTTPAddr = "127.0.0.1:8080"
	// DefaultClientBuffer is the default queue length per SSE client, in
	// events: a few seconds of many streams.
	DefaultClientBuffer = 256
	// DefaultMaxClients is the default bound on concurrent SSE clients.
	DefaultMaxClients = 64
	// DefaultMaxClientsPerAddr is the default bound on the concurrent SSE
	// clients of one remote address: a few browser tabs.
	DefaultMaxClientsPerAddr = 8
	// DefaultKeepAlive is the default interval of SSE keep-alive comments,
	// below the usual 30 to 60 s idle timeouts of proxies.
	DefaultKeepAlive = 15 * time.Second
	// DefaultReadHeaderTimeout is the default bound on reading request
	// headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultWriteTimeout is the default bound on writing a response or
	// one SSE write.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultIdleTimeout is the default bound on idle keep-alive
	// connections.
	DefaultIdleTimeout = 60 * time.Second
)

// The reasons of cmc_http_rejected_total{listener="dashboard"} besides
// httpguard's.
const (
	reasonClients        = "clients"
	reasonClientsPerAddr = "clients_per_addr"
)

// Validate checks that no count or duration is negative and that a token
// has the accepted form.
func (c HTTPConfig) Validate() error {
	if c.ClientBuffer < 0 || c.MaxClients < 0 || c.MaxClientsPerAddr < 0 || c.History < 0 || c.HistoryStreams < 0 {
		return errors.New("sink: http: negative client buffer, max clients or history")
	}
	if c.KeepAlive < 0 || c.ReadHeaderTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("sink: http: negative duration")
	}
	if c.Token != "" {
		if err := httpguard.ValidateToken(c.Token); err != nil {
			return fmt.Errorf("sink: http: %w", err)
		}
	}
	return nil
}

// HTTP serves the events as a Server-Sent Events feed at /events, together
// with /metrics and the dashboard at /. (The probes, /healthz and /readyz,
// are served on the operations port, package internal/ops.) Each SSE event
// has the event id as its id (control characters, "%" and invalid UTF-8
// percent-encoded, so no id can end the field), type "sentiment" and the
// cmc.sentiment.v2 JSON on one data line. Write hands each event to every
// connected client's bounded queue and never blocks on clients; an event
// reaches the clients connected when it is written. Every request passes
// the Host check, the optional token and gets the security headers of
// internal/httpguard. It is safe for concurrent use.
type HTTP struct {
	cfg   HTTPConfig
	ln    net.Listener
	srv   *http.Server
	conns httpguard.Conns // srv's connections, for Close
	done  chan struct{}   // closed by Close: handlers return
	serr  chan error      // the result of Serve

	mu      sync.Mutex
	clients map[*client]struct{}
	perAddr map[string]int // SSE clients by remote IP address
	closed  bool
	history *history // guarded by mu

	events    prometheus.Counter
	dropped   prometheus.Counter
	evicted   prometheus.Counter
	latency   prometheus.Histogram
	connected prometheus.Gauge
	rejected  *prometheus.CounterVec
}

// NewHTTP listens on cfg.Addr and starts serving.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultHTTPAddr)
	cfg.ClientBuffer = cmp.Or(cfg.ClientBuffer, DefaultClientBuffer)
	cfg.MaxClients = cmp.Or(cfg.MaxClients, DefaultMaxClients)
	cfg.MaxClientsPerAddr = cmp.Or(cfg.MaxClientsPerAddr, DefaultMaxClientsPerAddr)
	cfg.KeepAlive = cmp.Or(cfg.KeepAlive, DefaultKeepAlive)
	cfg.ReadHeaderTimeout = cmp.Or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	h := &HTTP{
		cfg:     cfg,
		done:    make(chan struct{}),
		serr:    make(chan error, 1),
		clients: make(map[*client]struct{}),
		perAddr: make(map[string]int),
		history: newHistory(cmp.Or(cfg.History, DefaultHistory), cmp.Or(cfg.HistoryStreams, DefaultHistoryStreams)),
		events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_sink_http_events_total", Help: "Events written to the HTTP sink."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_sink_http_sse_dropped_total",
			Help: "Events SSE clients missed because they were disconnected for stalling."}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_sink_http_sse_evicted_total",
			Help: "SSE clients disconnected because their queue was full (a stalled connection)."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cmc_sink_http_sse_delivery_seconds",
			Help:    "Time from Write to an event being flushed to an SSE client.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 9), NativeHistogramBucketFactor: 1.1,
			NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cmc_sink_http_sse_clients", Help: "Connected SSE clients."}),
		rejected:  httpguard.NewRejected("dashboard"),
	}
	for _, c := range []prometheus.Collector{h.events, h.dropped, h.evicted, h.latency, h.connected, h.rejected} {
		if err := cfg.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("sink: http: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sink: http: %w", err)
	}
	h.ln = ln
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", h.serveEvents)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	if cfg.Preview != nil {
		mux.Handle("GET /preview", h.untilClosed(cfg.Preview))
	}
	csp := httpguard.DefaultCSP
	if cfg.Static != nil {
		mux.Handle("GET /", http.FileServerFS(cfg.Static))
		csp = httpguard.PageCSP
	}
	h.srv = &http.Server{
		Handler: httpguard.Handler(httpguard.Config{Listen: cfg.Addr, AllowedHosts: cfg.AllowedHosts, Token: cfg.Token,
			CSP: csp, Rejected: h.rejected}, mux),
		// No ReadTimeout: it would cancel the long-lived SSE requests, and
		// the routes are GETs whose bodies are never read.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ConnState:         h.conns.Track,
	}
	go func() { h.serr <- h.srv.Serve(ln) }()
	return h, nil
}

// untilClosed returns next with each request's context also ended when the
// sink closes, so that a long-lived response does not hold up Close.
func (h *HTTP) untilClosed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-h.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Addr returns the address the sink listens on, such as "127.0.0.1:8080".
func (h *HTTP) Addr() string { return h.ln.Addr().String() }

// Write queues every event for every connected SSE client, and disconnects
// the clients whose queue is full. It fails the whole batch, queueing
// nothing, if an event cannot be encoded.
func (h *HTTP) Write(ctx context.Context, events []event.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: http: %w", err)
	}
	now := time.Now()
	frames := make([]frame, len(events))
	for i := range events {
		data, err := json.Marshal(&events[i])
		if err != nil {
			return fmt.Errorf("sink: http: event %q: %w", events[i].EventID, err)
		}
		// json.Marshal writes no line break (it escapes them in strings),
		// so the data is one field; the id is encoded to stay one field.
		id := sseValue(events[i].EventID)
		b := make([]byte, 0, len(data)+len(id)+32)
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, "\nevent: sentiment\ndata: "...)
		b = append(b, data...)
		frames[i] = frame{data: append(b, "\n\n"...), at: now, stream: events[i].StreamID}
	}
	if err := h.broadcast(frames); err != nil {
		return err
	}
	h.events.Add(float64(len(events)))
	return nil
}

// sseValue encodes s for an SSE field value: control characters (line
// breaks among them), "%" and bytes that are not UTF-8 become %XX, so that
// the value cannot end its line or add fields.
func sseValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r < 0x20 || r == 0x7f || r == '%' || r == utf8.RuneError && size == 1 || r >= 0x80 && r < 0xa0 {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

var _ pipeline.Flusher = (*HTTP)(nil)

// Flush waits until every connected client was sent everything queued for
// it (or disconnected), or ctx is done; it implements pipeline.Flusher.
func (h *HTTP) Flush(ctx context.Context) error {
	h.mu.Lock()
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		if err := c.waitEmpty(ctx); err != nil {
			return fmt.Errorf("sink: http: flush: %w", err)
		}
	}
	return nil
}

// Close disconnects the SSE clients and shuts the server down, waiting for
// the other requests in progress until ctx is done, then closing their
// connections.
func (h *HTTP) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()
	err := httpguard.Shutdown(ctx, h.srv, &h.conns)
	if err != nil {
		err = errors.Join(err, h.srv.Close())
	}
	if serr := <-h.serr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("sink: http: close: %w", err)
	}
	return nil
}

// subscribe adds a client from the remote address addr and returns it with
// the history it missed, or returns nil and the HTTP status to answer when
// the sink is closed or full.
func (h *HTTP) subscribe(addr string, rc *http.ResponseController) (*client, []byte, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, nil, http.StatusServiceUnavailable
	case len(h.clients) >= h.cfg.MaxClients:
		h.rejected.WithLabelValues(reasonClients).Inc()
		return nil, nil, http.StatusServiceUnavailable
	case h.perAddr[addr] >= h.cfg.MaxClientsPerAddr:
		h.rejected.WithLabelValues(reasonClientsPerAddr).Inc()
		return nil, nil, http.StatusTooManyRequests
	}
	c := &client{addr: addr, rc: rc, notify: make(chan struct{}, 1), evicted: make(chan struct{})}
	h.clients[c] = struct{}{}
	h.perAddr[addr]++
	h.connected.Set(float64(len(h.clients)))
	return c, h.history.replay(), 0
}

func (h *HTTP) unsubscribe(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	if h.perAddr[c.addr]--; h.perAddr[c.addr] == 0 {
		delete(h.perAddr, c.addr)
	}
	h.connected.Set(float64(len(h.clients)))
	h.mu.Unlock()
	c.leave()
}

// serveEvents streams the events to one client until it disconnects, a
// write fails or times out, it is evicted (then its connection is closed),
// or the sink closes. The handler sends the comment ": connected" once the
// client is subscribed, so a client knows from which point it receives
// every event, then the recent history of every stream (HTTPConfig.History
// records each, oldest first), then what is written from then on.
func (h *HTTP) serveEvents(w http.ResponseWriter, r *http.Request) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	rc := http.NewResponseController(w)
	c, missed, status := h.subscribe(addr, rc)
	if c == nil {
		http.Error(w, "sink: http: too many clients or closing", status)
		return
	}
	defer func() {
		evicted := c.isEvicted()
		h.unsubscribe(c)
		if evicted {
			// Closes the connection: a response that ended normally would
			// keep it open for another request.
			panic(http.ErrAbortHandler)
		}
	}()
	// The eviction check runs once a write's deadline is set: an eviction
	// before stops the write, one after cuts it by moving the deadline to
	// the past.
	out := sse.Start(w, h.cfg.WriteTimeout, func() bool { return !c.isEvicted() })
	if !out.Send([]byte(": connected\n\n")) || len(missed) > 0 && !out.Send(missed) {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-h.done:
		case <-c.evicted:
		case <-ctx.Done():
		}
		cancel()
	}()
	var batch []frame
	var buf []byte
	take := func() []byte {
		batch = c.take(batch[:0])
		buf = buf[:0]
		for _, f := range batch {
			buf = append(buf, f.data...)
		}
		return buf
	}
	sent := func() {
		now := time.Now()
		for _, f := range batch {
			h.latency.Observe(now.Sub(f.at).Seconds())
		}
		c.sent()
	}
	out.Serve(ctx, h.cfg.KeepAlive, c.notify, take, sent)
}

// frame is one encoded SSE event, shared read-only by all clients.
type frame struct {
	data   []byte
	at     time.Time // when Write queued it
	stream string
}

// client is the bounded queue of one SSE connection.
type client struct {
	addr    string                   // the remote IP address
	rc      *http.ResponseController // of the handler, to cut a stalled write
	notify  chan struct{}            // capacity 1: frames are waiting
	evicted chan struct{}            // closed when the client is evicted

	mu    sync.Mutex
	queue []frame
	busy  bool          // the handler took frames it has not sent yet
	gone  bool          // the handler returned
	out   bool          // evicted
	empty chan struct{} // closed when the queue is empty and not busy
}

// push queues frames unless limit frames already wait, in which case it
// evicts the client instead: it returns how many events the client misses
// then (those queued and those given) and false.
func (c *client) push(frames []frame, limit int) (missed int, ok bool) {
	c.mu.Lock()
	if c.out {
		c.mu.Unlock()
		return 0, true
	}
	if len(c.queue) >= limit {
		missed = len(c.queue) + len(frames)
		c.evict()
		c.mu.Unlock()
		return missed, false
	}
	c.queue = append(c.queue, frames...)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return 0, true
}

// evict drops the queue, wakes the handler and cuts a write in progress.
// c.mu is held.
func (c *client) evict() {
	c.out = true
	c.queue = nil
	close(c.evicted)
	if !c.gone {
		// The handler sets a deadline before each write and then checks
		// out, so this deadline cuts the write or the check stops it. Once
		// the handler is gone the connection may serve another request,
		// hence the gone check under the same lock.
		_ = c.rc.SetWriteDeadline(time.Now())
	}
	c.signalEmpty()
}

func (c *client) isEvicted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out
}

// take moves the queued frames to dst.
func (c *client) take(dst []frame) []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst = append(dst, c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	c.busy = true
	return dst
}

// sent records that the frames taken were written, waking Flush if nothing
// is queued.
func (c *client) sent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = false
	c.signalEmpty()
}

// leave records that the handler returned, which releases Flush.
func (c *client) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = true
	c.signalEmpty()
}

func (c *client) signalEmpty() {
	if c.empty != nil && c.idle() {
		close(c.empty)
		c.empty = nil
	}
}

// idle reports whether nothing is left to send; c.mu is held.
func (c *client) idle() bool { return c.gone || c.out || len(c.queue) == 0 && !c.busy }

// waitEmpty blocks until the queue is empty and written, the handler
// returned or the client was evicted, or ctx is done.
func (c *client) waitEmpty(ctx context.Context) error {
	c.mu.Lock()
	if c.idle() {
		c.mu.Unlock()
		return nil
	}
	if c.empty == nil {
		c.empty = make(chan struct{})
	}
	ch := c.empty
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
