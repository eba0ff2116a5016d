package websocket

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// The protocols of Config.Protocol.
const (
	// Twilio is Twilio Media Streams.
	Twilio = "twilio"
	// CMC is cmc-stream's JSON audio chunks and transcript segments.
	CMC = "cmc"
)

// Config configures a Source. Zero values mean the defaults.
type Config struct {
	// Listen is the host:port to listen on. Default DefaultListen, on
	// loopback: a phone system reaches it through a TLS-terminating proxy
	// (Twilio requires wss://).
	Listen string
	// Path is the URL path of the WebSocket endpoint. Default DefaultPath.
	Path string
	// Protocol is Twilio or CMC. Required.
	Protocol string
	// Token, when set, is required of every connection (see the package
	// documentation). Default "": no token.
	Token string
	// Tracks maps Twilio tracks to speaker roles; a track left out is
	// dropped. Default DefaultTracks.
	Tracks map[string]string
	// MaxFrameBytes bounds one WebSocket message, in bytes. Default
	// DefaultMaxFrameBytes.
	MaxFrameBytes int64
	// MaxConnections bounds the connections served at once; more are
	// refused with HTTP 503. Default DefaultMaxConnections.
	MaxConnections int
	// IdleTimeout closes a connection that sent nothing for this long.
	// Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Buffer is the number of items decoded ahead of Read, over all
	// connections; a full buffer holds the connections' reads back.
	// Default DefaultBuffer.
	Buffer int
}

// The defaults of Config.
const (
	// DefaultListen is the default listen address: loopback only.
	DefaultListen = "127.0.0.1:8090"
	// DefaultPath is the default endpoint path.
	DefaultPath = "/stream"
	// DefaultMaxFrameBytes is the default bound on a message: 1 MiB, room
	// for a cmc audio chunk of 10 s of 16 kHz PCM16 in base64 (427 KiB)
	// and far above a Twilio media message (about 400 bytes).
	DefaultMaxFrameBytes = 1 << 20
	// DefaultMaxConnections is the default bound on connections at once.
	DefaultMaxConnections = 256
	// DefaultIdleTimeout is the default time a silent connection is kept.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultBuffer is the default number of items decoded ahead.
	DefaultBuffer = 256
)

// DefaultTracks maps Twilio's tracks to roles: the inbound track is the
// caller's voice (a customer calling in), the outbound track what Twilio
// plays to the caller (the agent).
var DefaultTracks = map[string]string{"inbound": "customer", "outbound": "agent"}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Tracks == nil {
		c.Tracks = DefaultTracks
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Protocol != Twilio && c.Protocol != CMC {
		errs = append(errs, fmt.Errorf("websocket: protocol %q, want twilio or cmc", c.Protocol))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("websocket: listen: %w", err))
		}
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("websocket: path %q does not start with /", c.Path))
	}
	for track, role := range c.Tracks {
		if track != "inbound" && track != "outbound" {
			errs = append(errs, fmt.Errorf("websocket: tracks: %q is not a Twilio track (inbound or outbound)", track))
		}
		if role == "" {
			errs = append(errs, fmt.Errorf("websocket: tracks: %s has no role", track))
		}
	}
	if c.MaxFrameBytes < 0 || c.MaxConnections < 0 || c.IdleTimeout < 0 || c.Buffer < 0 {
		errs = append(errs, errors.New("websocket: negative max_frame_bytes, max_connections, idle timeout or buffer"))
	}
	return errors.Join(errs...)
}
