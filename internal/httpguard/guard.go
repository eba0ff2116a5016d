// Package httpguard holds the request checks and response headers every
// HTTP listener of cmc-stream shares (the operations port of internal/ops
// and the dashboard/SSE sink of package sink):
//
//   - the Host header must name the listener, so that a web page whose
//     domain was rebound to this machine's address (DNS rebinding) cannot
//     read the endpoints: a loopback listener accepts the loopback names
//     ("localhost", names under ".localhost", 127.0.0.0/8 and ::1), a
//     listener on all interfaces accepts any IP literal, the loopback names
//     and the machine's host name, a listener on one address accepts that
//     address; Config.AllowedHosts adds names (a proxy's public name).
//     Others get 421 Misdirected Request;
//   - an optional bearer token (Config.Token), from the Authorization
//     header, the query parameter "token" or the cookie "cmc_token" (a
//     browser's EventSource can send no header: opening the page once with
//     ?token=... sets the cookie and redirects to the page without it).
//     Tokens are compared in constant time; a request without the right
//     token gets 401;
//   - security headers on every response: Content-Security-Policy,
//     X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
//     Referrer-Policy: no-referrer and Cross-Origin-Resource-Policy:
//     same-origin.
//
// Each refused request is counted by reason on Config.Rejected.
//
// Shutdown stops such a listener (and the WebSocket listener of
// ingest/websocket) without waiting for connections that never sent a
// request (see Conns).
package httpguard

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The reasons a request is refused, the "reason" label of the rejection
// counter.
const (
	// ReasonHost is a Host header that does not name the listener.
	ReasonHost = "host"
	// ReasonToken is a missing or wrong bearer token.
	ReasonToken = "token"
)

// TokenCookie is the name of the cookie that carries the token for
// browsers.
const TokenCookie = "cmc_token"

// TokenParam is the name of the query parameter that carries the token.
const TokenParam = "token"

// MinTokenLength is the shortest token accepted, in characters: 128 bits
// of hex digits ("openssl rand -hex 32" gives 64).
const MinTokenLength = 32

// DefaultCSP is the Content-Security-Policy of responses that are not
// pages: nothing may load, nothing may frame them.
const DefaultCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// PageCSP is the Content-Security-Policy of a page that loads its own
// script and style sheet and connects to its own origin only (the
// dashboard).
const PageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Config configures Handler. The zero value of each field is its default.
type Config struct {
	// Listen is the configured listen address, host:port; its host decides
	// which Host headers are accepted (see the package documentation).
	Listen string
	// AllowedHosts are more host names (without port) that the Host header
	// may carry, compared without case; an entry starting with a dot
	// (".example.com") also matches every name under it.
	AllowedHosts []string
	// Token, when not empty, is required on every request (see
	// ValidateToken for the accepted form). Default: none.
	Token string
	// CSP is the Content-Security-Policy header. Default DefaultCSP.
	CSP string
	// Rejected counts the refused requests by "reason" (NewRejected makes
	// one). Default: not counted.
	Rejected *prometheus.CounterVec
}

// NewRejected returns the counter of refused requests of one listener,
// cmc_http_rejected_total{listener, reason}, to register on the process's
// registry and pass as Config.Rejected.
func NewRejected(listener string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "cmc_http_rejected_total",
		Help:        "HTTP requests refused, by listener and reason (host: Host header not allowed; token: missing or wrong token; clients: SSE client limits).",
		ConstLabels: prometheus.Labels{"listener": listener},
	}, []string{"reason"})
}

// ValidateToken checks that a token is at least MinTokenLength characters
// of the RFC 6750 b64token alphabet (letters, digits, "-._~+/", trailing
// "="), so that it fits a header, a query parameter and a cookie as it is.
// The error never contains the token.
func ValidateToken(token string) error {
	if len(token) < MinTokenLength {
		return fmt.Errorf("httpguard: token has %d characters, want at least %d", len(token), MinTokenLength)
	}
	body := strings.TrimRight(token, "=")
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return errors.New("httpguard: token has a character outside letters, digits and -._~+/ (and trailing =)")
		}
	}
	return nil
}

// Exposed reports whether listen (host:port) binds beyond loopback: all
// interfaces, a routable address, or a host name other than localhost.
func Exposed(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return true
	}
	return !loopbackName(host)
}

// Handler returns next guarded by cfg: Host check, token check, security
// headers. It panics if cfg.Token is set and invalid (ValidateToken), a
// programmer error: configurations validate their token first.
func Handler(cfg Config, next http.Handler) http.Handler {
	if cfg.Token != "" {
		if err := ValidateToken(cfg.Token); err != nil {
			panic(err.Error())
		}
	}
	g := &guard{cfg: cfg, next: next, csp: cfg.CSP}
	if g.csp == "" {
		g.csp = DefaultCSP
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		host = cfg.Listen
	}
	g.listenHost = normalizeHost(host)
	if g.listenHost == "" || isUnspecified(g.listenHost) {
		g.anyIP = true
		if name, err := os.Hostname(); err == nil {
			g.allowed = append(g.allowed, normalizeHost(name))
		}
	}
	for _, h := range cfg.AllowedHosts {
		g.allowed = append(g.allowed, normalizeHost(h))
	}
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		g.tokenSum = sum[:]
	}
	return g
}

type guard struct {
	cfg        Config
	next       http.Handler
	csp        string
	listenHost string
	anyIP      bool     // the listener binds every interface
	allowed    []string // more names, normalised
	tokenSum   []byte   // SHA-256 of the token; nil without one
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", g.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !g.hostAllowed(r.Host) {
		g.reject(ReasonHost)
		http.Error(w, "httpguard: this server does not answer for that host name", http.StatusMisdirectedRequest)
		return
	}
	if g.tokenSum != nil {
		given, fromQuery := token(r)
		if !g.tokenMatches(given) {
			g.reject(ReasonToken)
			h.Set("WWW-Authenticate", `Bearer realm="cmc-stream"`)
			http.Error(w, "httpguard: a valid token is required", http.StatusUnauthorized)
			return
		}
		if fromQuery {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: given, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			if r.Method == http.MethodGet && r.URL.Path == "/" {
				// The page again without the token in its address (and so in
				// the history); relative, to work behind a path prefix.
				q := r.URL.Query()
				q.Del(TokenParam)
				loc := "./"
				if len(q) > 0 {
					loc += "?" + q.Encode()
				}
				// Not http.Redirect, which would make the address absolute.
				h.Set("Location", loc)
				w.WriteHeader(http.StatusSeeOther)
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *guard) reject(reason string) {
	if g.cfg.Rejected != nil {
		g.cfg.Rejected.WithLabelValues(reason).Inc()
	}
}

// token returns the token a request carries, and whether it came from the
// query.
func token(r *http.Request) (string, bool) {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v), false
	}
	if v := r.URL.Query().Get(TokenParam); v != "" {
		return v, true
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return c.Value, false
	}
	return "", false
}

// tokenMatches compares the SHA-256 digests of the token given and the
// token configured in constant time, so that neither the content nor the
// length of the token leaks through timing.
func (g *guard) tokenMatches(given string) bool {
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum) == 1
}

// hostAllowed reports whether a Host header names this listener.
func (g *guard) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalizeHost(host)
	switch {
	case host == "":
		return false
	case host == g.listenHost, loopbackName(host) && (g.anyIP || loopbackName(g.listenHost)):
		return true
	case g.anyIP && net.ParseIP(host) != nil:
		return true
	}
	for _, a := range g.allowed {
		if host == a || strings.HasPrefix(a, ".") && strings.HasSuffix(host, a) {
			return true
		}
	}
	return false
}

// normalizeHost lower-cases a host, drops IPv6 brackets and a trailing
// dot, and writes IP addresses in their canonical form.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(h, "."), "["), "]"))
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// loopbackName reports whether host (normalised) always means this
// machine: localhost, a name under .localhost (RFC 6761), or a loopback
// address.
func loopbackName(host string) bool {
	host = normalizeHost(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// maxTokenFileBytes bounds a token file: a path to a large file by mistake
// is not read whole.
const maxTokenFileBytes = 4096

// ReadToken reads a token from the file path (its content without a
// trailing line break) or, when path is empty, from the environment
// variable env, and checks it with ValidateToken. Errors name the file or
// the variable, never the token.
func ReadToken(path, env string) (string, error) {
	var token string
	switch {
	case path != "" && env != "":
		return "", errors.New("httpguard: a token file and a token variable are exclusive")
	case path != "":
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("httpguard: token: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
		if err != nil {
			return "", fmt.Errorf("httpguard: token file %s: %w", path, err)
		}
		if len(b) > maxTokenFileBytes {
			return "", fmt.Errorf("httpguard: token file %s: longer than %d bytes", path, maxTokenFileBytes)
		}
		token = strings.TrimRight(string(b), "\r\n")
	case env != "":
		token = os.Getenv(env)
		if token == "" {
			return "", fmt.Errorf("httpguard: token variable %s is not set", env)
		}
	default:
		return "", nil
	}
	if err := ValidateToken(token); err != nil {
		return "", fmt.Errorf("%w (from %s)", err, cmp.Or(path, "$"+env))
	}
	return token, nil
}
