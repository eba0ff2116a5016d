package websocket

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/httpguard"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Item is one thing a connection delivered: an audio chunk or a transcript
// segment of the connection's stream.
type Item struct {
	// Audio is an audio chunk, or nil.
	Audio *event.AudioChunk
	// Speaker is the role whose voice Audio is (a Twilio track's role), or
	// "" when the chunk's channels are to be told apart by the caller.
	Speaker string
	// Segment is a transcript segment, or nil.
	Segment *event.Segment
	// Ended, when not empty, is the stream of a connection that ended (the
	// peer's stop or close, a broken connection, a refused frame, the idle
	// limit): the call is over. It comes after the connection's last item.
	Ended string
}

// The reasons of Stats.Rejected.
const (
	// ReasonUnauthorized is a connection without the token.
	ReasonUnauthorized = "unauthorized"
	// ReasonBusy is a connection refused at Config.MaxConnections.
	ReasonBusy = "busy"
	// ReasonHandshake is a request that is not a valid WebSocket upgrade,
	// or a browser's from another origin.
	ReasonHandshake = "handshake"
	// ReasonTooLarge is a message over Config.MaxFrameBytes (close 1009).
	ReasonTooLarge = "too_large"
	// ReasonBinary is a binary message: both protocols are JSON text
	// (close 1003).
	ReasonBinary = "binary"
	// ReasonMalformed is a message that is not valid JSON of the
	// protocol, or has a field out of range (close 1007).
	ReasonMalformed = "malformed"
	// ReasonProtocol is a message out of the protocol's order (Twilio
	// media before start) or of another stream than the connection's
	// (close 1008).
	ReasonProtocol = "protocol"
	// ReasonIdle is a connection silent for Config.IdleTimeout (close
	// 1008).
	ReasonIdle = "idle"
)

// Reasons lists the Reason constants.
var Reasons = []string{ReasonUnauthorized, ReasonBusy, ReasonHandshake, ReasonTooLarge, ReasonBinary, ReasonMalformed, ReasonProtocol, ReasonIdle}

// errUnauthorized is the reason a Twilio connection whose start message
// lacks the token is closed.
var errUnauthorized = errors.New("token required")

// Stats counts what a Source did.
type Stats struct {
	// Connections counts the connections accepted.
	Connections int64
	// Open is the number of connections being served.
	Open int64
	// Items counts the items delivered.
	Items int64
	// Rejected counts refused connections and closed ones by reason (the
	// Reason constants).
	Rejected map[string]int64
}

// Source is a pipeline.Source of the items of WebSocket connections. It
// listens from Connect to Close; items carry no acknowledgement (a phone
// system does not resend). Safe for concurrent use.
type Source struct {
	cfg    Config
	items  chan Item
	segDec event.SegmentDecoder

	mu       sync.Mutex
	srv      *http.Server
	srvConns httpguard.Conns // srv's connections before the upgrade, for Close
	addr     string
	ctx      context.Context // cancelled by Close: ends the connections
	cancel   context.CancelFunc
	closed   bool
	rejected map[string]int64

	conns       sync.WaitGroup
	open        atomic.Int64
	connections atomic.Int64
	delivered   atomic.Int64
}

var _ pipeline.Source[Item] = (*Source)(nil)

// New returns a Source; it listens from Connect on.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Source{cfg: cfg, items: make(chan Item, cfg.Buffer), ctx: ctx, cancel: cancel, rejected: map[string]int64{}}, nil
}

// Connect starts listening, the first time it is called.
func (s *Source) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("websocket: source closed")
	case s.srv != nil:
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("websocket: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(s.cfg.Path, s.serveHTTP)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnState: s.srvConns.Track,
		BaseContext: func(net.Listener) context.Context { return s.ctx }}
	s.addr = ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Addr returns the address the source listens on, "" before Connect.
func (s *Source) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Read returns the next item of any connection. It returns
// pipeline.ErrNotConnected before Connect and after Close, and ctx.Err()
// when ctx is done first.
func (s *Source) Read(ctx context.Context) (Item, pipeline.AckFunc, error) {
	s.mu.Lock()
	ok := s.srv != nil && !s.closed
	s.mu.Unlock()
	if !ok {
		return Item{}, nil, pipeline.ErrNotConnected
	}
	select {
	case it := <-s.items:
		return it, nil, nil
	case <-s.ctx.Done():
		return Item{}, nil, pipeline.ErrNotConnected
	case <-ctx.Done():
		return Item{}, nil, ctx.Err()
	}
}

// Close stops listening and closes the connections with 1001 (going away).
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	var err error
	if srv != nil {
		err = httpguard.Shutdown(ctx, srv, &s.srvConns)
	}
	s.conns.Wait()
	if err != nil {
		return fmt.Errorf("websocket: close: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := make(map[string]int64, len(s.rejected))
	for k, v := range s.rejected {
		r[k] = v
	}
	return Stats{Connections: s.connections.Load(), Open: s.open.Load(), Items: s.delivered.Load(), Rejected: r}
}

func (s *Source) reject(reason string) {
	s.mu.Lock()
	s.rejected[reason]++
	s.mu.Unlock()
}

// tokenOf returns the token a request carries, in an Authorization: Bearer
// header or a token query parameter, and whether it has one.
func tokenOf(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		return t, ok
	}
	if r.URL.Query().Has("token") {
		return r.URL.Query().Get("token"), true
	}
	return "", false
}

// validToken reports whether t is the configured token, in constant time.
func (s *Source) validToken(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.cfg.Token)) == 1
}

func (s *Source) serveHTTP(w http.ResponseWriter, r *http.Request) {
	authed := s.cfg.Token == ""
	if t, ok := tokenOf(r); ok && !authed {
		if !s.validToken(t) {
			s.reject(ReasonUnauthorized)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		authed = true
	}
	// Twilio's stream URLs carry no header nor query: its token comes in
	// the start message.
	if !authed && s.cfg.Protocol != Twilio {
		s.reject(ReasonUnauthorized)
		http.Error(w, "token required", http.StatusUnauthorized)
		return
	}
	if n := s.open.Add(1); n > int64(s.cfg.MaxConnections) {
		s.open.Add(-1)
		s.reject(ReasonBusy)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	defer s.open.Add(-1)
	s.conns.Add(1)
	defer s.conns.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.reject(ReasonHandshake)
		return
	}
	defer func() { _ = c.CloseNow() }() // after a clean Close it reports the connection closed already
	c.SetReadLimit(s.cfg.MaxFrameBytes)
	s.connections.Add(1)
	var p protocol
	if s.cfg.Protocol == Twilio {
		p = &twilioConn{tracks: s.cfg.Tracks, authed: authed, validToken: s.validToken}
	} else {
		p = &cmcConn{segDec: s.segDec}
	}
	var stream string
	code, reason := s.serveConn(r.Context(), c, p, &stream)
	_ = c.Close(code, reason)
	if stream != "" {
		select {
		case s.items <- Item{Ended: stream}:
		case <-s.ctx.Done():
		}
	}
}

// protocol decodes the messages of one connection.
type protocol interface {
	// decode returns the items of one text message, and whether the
	// connection ends after it (Twilio's stop); an error is a
	// *closeError.
	decode(msg []byte) (items []Item, end bool, err error)
}

// closeError closes a connection with code, counted under reason.
type closeError struct {
	code   websocket.StatusCode
	reason string
	err    error
}

func (e *closeError) Error() string { return e.err.Error() }

func malformed(format string, args ...any) *closeError {
	return &closeError{code: websocket.StatusInvalidFramePayloadData, reason: ReasonMalformed, err: fmt.Errorf(format, args...)}
}

func outOfOrder(format string, args ...any) *closeError {
	return &closeError{code: websocket.StatusPolicyViolation, reason: ReasonProtocol, err: fmt.Errorf(format, args...)}
}

// serveConn reads the messages of c until it ends, and returns the close
// code and reason to send; *stream is set to the stream of the items the
// connection delivered. A silent connection and the source's Close end
// it with a close frame sent from their own goroutine, which makes the read
// return.
func (s *Source) serveConn(ctx context.Context, c *websocket.Conn, p protocol, stream *string) (websocket.StatusCode, string) {
	var idled atomic.Bool
	idle := time.AfterFunc(s.cfg.IdleTimeout, func() {
		idled.Store(true)
		s.reject(ReasonIdle)
		_ = c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("nothing received for %v", s.cfg.IdleTimeout))
	})
	defer idle.Stop()
	stop := context.AfterFunc(ctx, func() { _ = c.Close(websocket.StatusGoingAway, "server shutting down") })
	defer stop()
	for {
		typ, msg, err := c.Read(context.Background())
		switch {
		case errors.Is(err, websocket.ErrMessageTooBig):
			s.reject(ReasonTooLarge)
			return websocket.StatusMessageTooBig, fmt.Sprintf("message over %d bytes", s.cfg.MaxFrameBytes)
		case err != nil:
			// The peer closed, the connection broke, or it was closed
			// above (idle, shutdown): the close frame is sent, or
			// cannot be.
			return websocket.StatusNormalClosure, ""
		case typ != websocket.MessageText:
			s.reject(ReasonBinary)
			return websocket.StatusUnsupportedData, "binary message: want JSON text"
		}
		if !idle.Stop() || idled.Load() {
			return websocket.StatusPolicyViolation, ""
		}
		idle.Reset(s.cfg.IdleTimeout)
		items, end, err := p.decode(msg)
		var ce *closeError
		if errors.As(err, &ce) {
			s.reject(ce.reason)
			return ce.code, truncate(ce.Error())
		}
		for _, it := range items {
			*stream = it.stream()
			select {
			case s.items <- it:
				s.delivered.Add(1)
			case <-ctx.Done():
				return websocket.StatusGoingAway, "server shutting down"
			}
		}
		if end {
			return websocket.StatusNormalClosure, "stream stopped"
		}
	}
}

// stream returns the stream id of the item's chunk or segment.
func (it Item) stream() string {
	switch {
	case it.Audio != nil:
		return it.Audio.StreamID
	case it.Segment != nil:
		return it.Segment.StreamID
	}
	return ""
}

// truncate bounds a close reason to the 123 bytes a close frame holds,
// cutting at a rune boundary.
func truncate(reason string) string {
	const limit = 123
	if len(reason) <= limit {
		return reason
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}
