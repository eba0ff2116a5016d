package sink_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/sink"
)

// TestHTTPPreviewGuarded: the preview feed is served at /preview behind the
// Host check and the token like /events, and its requests end when the
// sink closes, so Close does not wait for them.
func TestHTTPPreviewGuarded(t *testing.T) {
	started := make(chan struct{}, 1)
	ended := make(chan struct{})
	feed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(": connected\n\n"))
		_ = http.NewResponseController(w).Flush()
		started <- struct{}{}
		<-r.Context().Done()
		if r.URL.Query().Get("long") != "" {
			close(ended)
		}
	})
	const token = "preview-token-0123456789abcdef-xy"
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0", Token: token, Preview: feed})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := request(t, h, "/preview", "attacker.example:8080", nil); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("GET /preview with a forged Host: %s, want 421", resp.Status)
	}
	if resp, _ := request(t, h, "/preview", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /preview without the token: %s, want 401", resp.Status)
	}
	if resp, body := request(t, h, "/preview", "", http.Header{"Authorization": {"Bearer " + token}}); resp.StatusCode != http.StatusOK || body != ": connected\n\n" {
		t.Errorf("GET /preview with the token: %s %q", resp.Status, body)
	}
	<-started

	// A request still open when the sink closes.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+h.Addr()+"/preview?long=1&token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close with a preview request open: %v", err)
	}
	<-ended
}
