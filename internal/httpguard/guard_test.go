package httpguard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cmc-stream/cmc-stream/internal/httpguard"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

// serve starts a real server on loopback with h.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// do sends GET url with the Host header host (the URL's when empty) and
// the extra headers, without following redirects.
func do(t *testing.T, url, host string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestHost sends forged and proper Host headers to listeners on loopback,
// on every interface and on one address: DNS-rebinding names are refused
// with 421 and counted.
func TestHost(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		listen  string
		allowed []string
		host    string
		want    int
	}{
		{"127.0.0.1:8080", nil, "127.0.0.1:8080", 200},
		{"127.0.0.1:8080", nil, "localhost:8080", 200},
		{"127.0.0.1:8080", nil, "LOCALHOST.:8080", 200},
		{"127.0.0.1:8080", nil, "dash.localhost:8080", 200},
		{"127.0.0.1:8080", nil, "[::1]:8080", 200},
		{"127.0.0.1:8080", nil, "127.0.0.2", 200},
		{"localhost:8080", nil, "127.0.0.1:8080", 200},
		{"127.0.0.1:8080", nil, "attacker.example:8080", 421},
		{"127.0.0.1:8080", nil, "localhost.attacker.example", 421},
		{"127.0.0.1:8080", nil, "192.168.1.5:8080", 421},
		{"127.0.0.1:8080", []string{"dash.example.com"}, "Dash.Example.com:443", 200},
		{"127.0.0.1:8080", []string{".example.com"}, "a.b.example.com", 200},
		{"127.0.0.1:8080", []string{".example.com"}, "example.com.attacker.example", 421},
		{"0.0.0.0:8080", nil, "10.1.2.3:8080", 200},
		{"0.0.0.0:8080", nil, "[fe80::1]:8080", 200},
		{"0.0.0.0:8080", nil, "localhost:8080", 200},
		{"0.0.0.0:8080", nil, hostname + ":8080", 200},
		{":8080", nil, "attacker.example", 421},
		{"[::]:8080", nil, "attacker.example", 421},
		{"10.1.2.3:8080", nil, "10.1.2.3:8080", 200},
		{"10.1.2.3:8080", nil, "10.1.2.4:8080", 421},
		{"10.1.2.3:8080", nil, "localhost:8080", 421},
		{"dash.internal:8080", nil, "dash.internal:8080", 200},
		{"dash.internal:8080", nil, "attacker.example", 421},
	}
	for _, c := range cases {
		rejected := httpguard.NewRejected("test")
		url := serve(t, httpguard.Handler(httpguard.Config{Listen: c.listen, AllowedHosts: c.allowed, Rejected: rejected}, ok))
		resp := do(t, url, c.host, nil)
		if resp.StatusCode != c.want {
			t.Errorf("listen %s allowed %v, Host %q: %d, want %d", c.listen, c.allowed, c.host, resp.StatusCode, c.want)
		}
		wantCount := 0.0
		if c.want == http.StatusMisdirectedRequest {
			wantCount = 1
		}
		if n := testutil.ToFloat64(rejected.WithLabelValues(httpguard.ReasonHost)); n != wantCount {
			t.Errorf("listen %s, Host %q: %v host rejections counted, want %v", c.listen, c.host, n, wantCount)
		}
	}
}

// TestHeaders checks the security headers on an answer and on a refusal.
func TestHeaders(t *testing.T) {
	url := serve(t, httpguard.Handler(httpguard.Config{Listen: "127.0.0.1:0", CSP: httpguard.PageCSP}, ok))
	for _, host := range []string{"", "attacker.example"} {
		resp := do(t, url, host, nil)
		for k, v := range map[string]string{
			"Content-Security-Policy":      httpguard.PageCSP,
			"X-Content-Type-Options":       "nosniff",
			"X-Frame-Options":              "DENY",
			"Referrer-Policy":              "no-referrer",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("Host %q: %s %q, want %q", host, k, got, v)
			}
		}
	}
	if !strings.Contains(httpguard.PageCSP, "frame-ancestors 'none'") || !strings.Contains(httpguard.DefaultCSP, "frame-ancestors 'none'") {
		t.Error("a policy lets other sites frame the pages")
	}
}

// TestToken: with a token, each way of giving it is accepted, anything
// else refused with 401 and counted; the token in the page's query sets
// the cookie and redirects to the page without it.
func TestToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef-_.~+/=="
	rejected := httpguard.NewRejected("test")
	url := serve(t, httpguard.Handler(httpguard.Config{Listen: "127.0.0.1:0", Token: token, Rejected: rejected}, ok))
	for name, c := range map[string]struct {
		path   string
		header map[string]string
		want   int
	}{
		"none":             {"/events", nil, 401},
		"wrong header":     {"/events", map[string]string{"Authorization": "Bearer " + token[:len(token)-3]}, 401},
		"longer":           {"/events", map[string]string{"Authorization": "Bearer " + token + "x"}, 401},
		"basic":            {"/events", map[string]string{"Authorization": "Basic " + token}, 401},
		"wrong query":      {"/events?token=abc", nil, 401},
		"wrong cookie":     {"/events", map[string]string{"Cookie": httpguard.TokenCookie + "=abc"}, 401},
		"header":           {"/events", map[string]string{"Authorization": "Bearer " + token}, 200},
		"cookie":           {"/events", map[string]string{"Cookie": httpguard.TokenCookie + "=" + token}, 200},
		"query (events)":   {"/events?token=" + strings.ReplaceAll(token, "+", "%2B"), nil, 200},
		"query (the page)": {"/?stream=a&token=" + strings.ReplaceAll(token, "+", "%2B"), nil, 303},
	} {
		resp := do(t, url+c.path, "", c.header)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, c.want)
			continue
		}
		switch c.want {
		case 401:
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", name)
			}
		case 303:
			if loc := resp.Header.Get("Location"); loc != "./?stream=a" {
				t.Errorf("%s: redirected to %q, want ./?stream=a", name, loc)
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 || cookies[0].Name != httpguard.TokenCookie || cookies[0].Value != token || !cookies[0].HttpOnly ||
				cookies[0].SameSite != http.SameSiteStrictMode {
				t.Errorf("%s: cookies %v", name, cookies)
			}
		}
	}
	if n := testutil.ToFloat64(rejected.WithLabelValues(httpguard.ReasonToken)); n != 6 {
		t.Errorf("%v token rejections counted, want 6", n)
	}
}

func TestValidateToken(t *testing.T) {
	for _, bad := range []string{"", "short", strings.Repeat("a", 31), strings.Repeat("a", 32) + " ", strings.Repeat("a", 32) + ";", strings.Repeat("a", 32) + "\n", "=" + strings.Repeat("a", 32) + "=a"} {
		err := httpguard.ValidateToken(bad)
		if err == nil {
			t.Errorf("token %q accepted", bad)
		} else if len(bad) > 8 && strings.Contains(err.Error(), bad) {
			t.Errorf("the error %q shows the token", err)
		}
	}
	if err := httpguard.ValidateToken(strings.Repeat("aB3-", 8) + "=="); err != nil {
		t.Error(err)
	}
}

func TestExposed(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": false, "localhost:9464": false, "[::1]:1": false,
		"0.0.0.0:8080": true, ":8080": true, "10.0.0.1:8080": true, "dash.internal:80": true, "nonsense": true,
	} {
		if got := httpguard.Exposed(listen); got != want {
			t.Errorf("Exposed(%q) = %v, want %v", listen, got, want)
		}
	}
}

func TestReadToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	good := dir + "/token"
	if err := os.WriteFile(good, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	weak := dir + "/weak"
	if err := os.WriteFile(weak, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := httpguard.ReadToken(good, ""); err != nil || got != token {
		t.Errorf("from a file: %q, %v", got, err)
	}
	t.Setenv("CMC_TEST_TOKEN", token)
	if got, err := httpguard.ReadToken("", "CMC_TEST_TOKEN"); err != nil || got != token {
		t.Errorf("from a variable: %q, %v", got, err)
	}
	if got, err := httpguard.ReadToken("", ""); err != nil || got != "" {
		t.Errorf("none: %q, %v", got, err)
	}
	for name, c := range map[string][2]string{
		"both":    {good, "CMC_TEST_TOKEN"},
		"missing": {dir + "/none", ""},
		"unset":   {"", "CMC_TEST_UNSET_TOKEN"},
		"weak":    {weak, ""},
	} {
		_, err := httpguard.ReadToken(c[0], c[1])
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
