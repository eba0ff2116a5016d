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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// HTTPConfig configures an HTTP sink. A zero value means the default.
type HTTPConfig struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	// Default "127.0.0.1:8080": loopback, since the endpoints have no
	// authentication; bind a routable address deliberately.
	Addr string
	// ClientBuffer is the number of events queued per SSE client. When a
	// slow client's queue is full the oldest event is dropped and counted
	// (cmc_sink_http_sse_dropped_total); the sink never blocks on a
	// client. Default 256.
	ClientBuffer int
	// MaxClients bounds the concurrent SSE clients; more get 503.
	// Default 64.
	MaxClients int
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
	// Static is served at / (the dashboard). Default nil: / answers 404.
	Static fs.FS
	// History is the number of recent records (events, alerts, the
	// summary) kept per stream and sent to an SSE client when it connects,
	// so a dashboard opened mid-call shows what it missed. Default 64.
	History int
	// HistoryStreams bounds the streams whose history is kept; the stream
	// updated least recently is forgotten first. Default 256.
	HistoryStreams int
	// Metrics is the registry served at /metrics (the dashboard reads its
	// drop counters there), on which the sink registers its own metrics (so
	// one registry serves one HTTP sink). Default: a new registry with only
	// the sink's metrics.
	Metrics *prometheus.Registry
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

// Validate checks that no count or duration is negative.
func (c HTTPConfig) Validate() error {
	if c.ClientBuffer < 0 || c.MaxClients < 0 || c.History < 0 || c.HistoryStreams < 0 {
		return errors.New("sink: http: negative client buffer, max clients or history")
	}
	if c.KeepAlive < 0 || c.ReadHeaderTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("sink: http: negative duration")
	}
	return nil
}

// HTTP serves the events as a Server-Sent Events feed at /events, together
// with /metrics and the dashboard at /. (The probes, /healthz and /readyz,
// are served on the operations port, package internal/ops.) Each SSE event has
// the event id as its id, type "sentiment" and the cmc.sentiment.v2 JSON as
// its data. Write hands each event to every connected client's bounded queue
// and never blocks on clients; an event reaches the clients connected when it
// is written. It is safe for concurrent use.
type HTTP struct {
	cfg  HTTPConfig
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed by Close: handlers return
	serr chan error    // the result of Serve

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	history *history // guarded by mu

	events    prometheus.Counter
	dropped   prometheus.Counter
	latency   prometheus.Histogram
	connected prometheus.Gauge
}

// NewHTTP listens on cfg.Addr and starts serving.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultHTTPAddr)
	cfg.ClientBuffer = cmp.Or(cfg.ClientBuffer, DefaultClientBuffer)
	cfg.MaxClients = cmp.Or(cfg.MaxClients, DefaultMaxClients)
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
		history: newHistory(cmp.Or(cfg.History, DefaultHistory), cmp.Or(cfg.HistoryStreams, DefaultHistoryStreams)),
		events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_sink_http_events_total", Help: "Events written to the HTTP sink."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_sink_http_sse_dropped_total",
			Help: "Events dropped from the queues of slow SSE clients (oldest first)."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cmc_sink_http_sse_delivery_seconds",
			Help:    "Time from Write to an event being flushed to an SSE client.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 9), NativeHistogramBucketFactor: 1.1,
			NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cmc_sink_http_sse_clients", Help: "Connected SSE clients."}),
	}
	for _, c := range []prometheus.Collector{h.events, h.dropped, h.latency, h.connected} {
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
	if cfg.Static != nil {
		mux.Handle("GET /", http.FileServerFS(cfg.Static))
	}
	h.srv = &http.Server{
		Handler: mux,
		// No ReadTimeout: it would cancel the long-lived SSE requests, and
		// the routes are GETs whose bodies are never read.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
	go func() { h.serr <- h.srv.Serve(ln) }()
	return h, nil
}

// Addr returns the address the sink listens on, such as "127.0.0.1:8080".
func (h *HTTP) Addr() string { return h.ln.Addr().String() }

// Write queues every event for every connected SSE client. It fails the
// whole batch, queueing nothing, if an event cannot be encoded.
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
		b := make([]byte, 0, len(data)+len(events[i].EventID)+32)
		b = append(b, "id: "...)
		b = append(b, events[i].EventID...)
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
	err := h.srv.Shutdown(ctx)
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

// subscribe adds a client and returns it with the history it missed, or
// returns nil when the sink is closed or full.
func (h *HTTP) subscribe() (*client, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= h.cfg.MaxClients {
		return nil, nil
	}
	c := &client{ring: make([]frame, h.cfg.ClientBuffer), notify: make(chan struct{}, 1)}
	h.clients[c] = struct{}{}
	h.connected.Set(float64(len(h.clients)))
	return c, h.history.replay()
}

func (h *HTTP) unsubscribe(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.connected.Set(float64(len(h.clients)))
	h.mu.Unlock()
	c.leave()
}

// serveEvents streams the events to one client until it disconnects, a
// write fails or times out, or the sink closes. The handler sends the
// comment ": connected" once the client is subscribed, so a client knows
// from which point it receives every event, then the recent history of
// every stream (HTTPConfig.History records each, oldest first), then what
// is written from then on.
func (h *HTTP) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, missed := h.subscribe()
	if c == nil {
		http.Error(w, "sink: http: too many clients or closing", http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(c)
	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	send := func(b []byte) bool {
		if rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout)) != nil {
			return false
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte(": connected\n\n")) || len(missed) > 0 && !send(missed) {
		return
	}
	keepAlive := time.NewTicker(h.cfg.KeepAlive)
	defer keepAlive.Stop()
	var batch []frame
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-keepAlive.C:
			if !send([]byte(": keep-alive\n\n")) {
				return
			}
		case <-c.notify:
			batch = c.take(batch[:0])
			var buf []byte
			for _, f := range batch {
				buf = append(buf, f.data...)
			}
			if !send(buf) {
				return
			}
			now := time.Now()
			for _, f := range batch {
				h.latency.Observe(now.Sub(f.at).Seconds())
			}
			c.sent()
		}
	}
}

// frame is one encoded SSE event, shared read-only by all clients.
type frame struct {
	data   []byte
	at     time.Time // when Write queued it
	stream string
}

// client is the bounded queue of one SSE connection: a ring of frames that
// drops the oldest when full.
type client struct {
	notify chan struct{} // capacity 1: frames are waiting

	mu      sync.Mutex
	ring    []frame
	head, n int
	busy    bool          // the handler took frames it has not sent yet
	gone    bool          // the handler returned
	empty   chan struct{} // closed when the queue is empty and not busy
}

// push queues frames, dropping the oldest when full, and returns how many
// it dropped.
func (c *client) push(frames []frame) (dropped int) {
	c.mu.Lock()
	for _, f := range frames {
		if c.n == len(c.ring) {
			c.ring[c.head] = frame{}
			c.head = (c.head + 1) % len(c.ring)
			c.n--
			dropped++
		}
		c.ring[(c.head+c.n)%len(c.ring)] = f
		c.n++
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return dropped
}

// take moves the queued frames to dst.
func (c *client) take(dst []frame) []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ; c.n > 0; c.n-- {
		dst = append(dst, c.ring[c.head])
		c.ring[c.head] = frame{}
		c.head = (c.head + 1) % len(c.ring)
	}
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
	if c.empty != nil && (c.gone || c.n == 0 && !c.busy) {
		close(c.empty)
		c.empty = nil
	}
}

// waitEmpty blocks until the queue is empty and written, the handler
// returned, or ctx is done.
func (c *client) waitEmpty(ctx context.Context) error {
	c.mu.Lock()
	if c.gone || c.n == 0 && !c.busy {
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
