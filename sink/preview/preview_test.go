package preview

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/jpeg"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestThumbnail: each thumbnail pixel is the mean of the frame pixels it
// covers, in RGB order from BGR; a frame no wider than the limit keeps its
// size and pixels.
func TestThumbnail(t *testing.T) {
	// 4x2 BGR frame: blue runs 0..7 along the rows, green 10x that, red 100.
	pix := make([]byte, 4*2*3)
	for i := range 8 {
		pix[3*i], pix[3*i+1], pix[3*i+2] = byte(i), byte(10*i), 100
	}
	img := thumbnail(pix, 4, 2, 2)
	if b := img.Bounds(); b.Dx() != 2 || b.Dy() != 1 {
		t.Fatalf("thumbnail %v, want 2x1", b)
	}
	// Left block: pixels 0, 1, 4, 5 (mean blue 2.5, rounded half up to 3;
	// green 25); right block: 2, 3, 6, 7 (blue 4.5 -> 5, green 45).
	want := []byte{100, 25, 3, 255, 100, 45, 5, 255}
	if !bytes.Equal(img.Pix, want) {
		t.Errorf("thumbnail pixels %v, want %v", img.Pix, want)
	}
	same := thumbnail(pix, 4, 2, 320)
	for i := range 8 {
		if o := same.Pix[4*i:]; o[0] != 100 || o[1] != byte(10*i) || o[2] != byte(i) {
			t.Fatalf("pixel %d is %v, want the frame's", i, o[:4])
		}
	}
}

// TestClientKeepsLatest: a client holds one frame per stream, the latest,
// and counts the replaced ones.
func TestClientKeepsLatest(t *testing.T) {
	c := &client{notify: make(chan struct{}, 1), pending: map[string][]byte{}}
	if c.put("a", []byte("a1 ")) || !c.put("a", []byte("a2 ")) || c.put("b", []byte("b1 ")) {
		t.Error("put reported the wrong replacements")
	}
	if got := string(c.take(nil)); got != "a2 b1 " {
		t.Errorf("take = %q, want a2 then b1", got)
	}
	if got := string(c.take(nil)); got != "" {
		t.Errorf("take after take = %q", got)
	}
}

// TestDue: nothing is due without a client; with one, a stream's frame is
// due once per interval on the hub's clock.
func TestDue(t *testing.T) {
	now := time.Unix(1e9, 0)
	h, err := New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Due("a") {
		t.Error("due without a client")
	}
	c := h.subscribe()
	defer h.unsubscribe(c)
	if !h.Due("a") || h.Due("a") || !h.Due("b") {
		t.Error("first frames of a and b not due, or a due twice at once")
	}
	now = now.Add(DefaultInterval - time.Millisecond)
	if h.Due("a") {
		t.Error("a due before its interval")
	}
	now = now.Add(time.Millisecond)
	if !h.Due("a") {
		t.Error("a not due after its interval")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Width: -1}, {Width: MaxWidth + 1}, {Quality: 101}, {Interval: -1}, {Queue: -1}, {MaxClients: -1}} {
		if _, err := New(c); err == nil || !strings.HasPrefix(err.Error(), "preview: config: ") {
			t.Errorf("New(%+v) = %v, want a config error", c, err)
		}
	}
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := h.Publish(Frame{Stream: "a", Pix: make([]byte, 5), Width: 2, Height: 1}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("Publish of a short frame = %v, want an error naming the stream", err)
	}
}

// noise returns a w x h BGR frame of random bytes, which JPEG barely
// compresses.
func noise(r *rand.Rand, w, h int) []byte {
	pix := make([]byte, w*h*3)
	for i := range pix {
		pix[i] = byte(r.Uint32())
	}
	return pix
}

// readEvent reads one SSE event's data line of type "preview".
func readEvent(t *testing.T, r *bufio.Reader) Message {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var m Message
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}

// TestStalledClient: a client that stops reading holds one frame per
// stream; the frames that replace it are counted, Publish goes on without
// blocking, and another client keeps receiving every stream's frames.
func TestStalledClient(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := New(Config{Interval: time.Nanosecond, Quality: 100, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	// The stalled client: a raw connection that reads nothing after the
	// request, with a small receive buffer so that it fills soon.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// The live client.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	for deadline := time.Now().Add(30 * time.Second); testutil.ToFloat64(h.connected) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("two clients not connected")
		}
		time.Sleep(time.Millisecond)
	}
	live := bufio.NewReaderSize(resp.Body, 1<<20)

	r := rand.New(rand.NewPCG(1, 2))
	faces := []Face{{X: 0.25, Y: 0.125, W: 0.5, H: 0.5, Score: 0.75}}
	got := map[string]Message{}
	// Publish until the stalled client has lost frames, reading the live
	// client as it goes; each round publishes a frame of each stream and
	// waits for the live client to get both, so every loss is the stalled
	// client's.
	for round := 0; testutil.ToFloat64(h.discarded.WithLabelValues(reasonClient)) == 0; round++ {
		if round == 1000 {
			t.Fatal("the stalled client never lost a frame")
		}
		for _, s := range []string{"a", "b"} {
			if !h.Due(s) {
				t.Fatalf("round %d: %s not due", round, s)
			}
			if err := h.Publish(Frame{Stream: s, Time: time.Duration(round) * time.Millisecond, Pix: noise(r, 640, 480),
				Width: 640, Height: 480, Faces: faces, Expression: []Prob{{Label: "happy", P: 1}}}); err != nil {
				t.Fatal(err)
			}
			m := readEvent(t, live)
			got[m.Stream] = m
		}
	}
	if n := testutil.ToFloat64(h.discarded.WithLabelValues(reasonEncoder)); n != 0 {
		t.Errorf("%v frames dropped at the encoder, which had one at a time", n)
	}
	for _, s := range []string{"a", "b"} {
		m := got[s]
		img, err := jpeg.Decode(bytes.NewReader(m.JPEG))
		if err != nil {
			t.Fatalf("stream %s: %v", s, err)
		}
		if b := img.Bounds(); b.Dx() != DefaultWidth || b.Dy() != 240 || m.Width != DefaultWidth || m.Height != 240 {
			t.Errorf("stream %s: JPEG %v, message %dx%d, want 320x240", s, b, m.Width, m.Height)
		}
		if len(m.Faces) != 1 || m.Faces[0] != faces[0] || len(m.Expression) != 1 || m.Expression[0] != (Prob{"happy", 1}) {
			t.Errorf("stream %s: faces %v, expression %v", s, m.Faces, m.Expression)
		}
	}
}

// TestMaxClients: with the default configuration 16 preview clients are
// served and the 17th gets 503 (README, Security: "At most 16 preview
// clients"); once one leaves, another may connect.
func TestMaxClients(t *testing.T) {
	h, err := New(Config{Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	const want = 16
	var bodies []*http.Response
	defer func() {
		for _, r := range bodies {
			r.Body.Close()
		}
	}()
	for i := range want {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client %d: %s, want 200", i+1, resp.Status)
		}
		// ": connected" is sent once the client holds its place.
		if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != ": connected\n" {
			t.Fatalf("client %d: first line %q, %v", i+1, line, err)
		}
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("client %d: %s, want 503", want+1, resp.Status)
	}
	bodies[0].Body.Close()
	for deadline := time.Now().Add(30 * time.Second); testutil.ToFloat64(h.connected) != want-1; {
		if time.Now().After(deadline) {
			t.Fatalf("%v clients connected after one left, want %d", testutil.ToFloat64(h.connected), want-1)
		}
		time.Sleep(time.Millisecond)
	}
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a client after one left: %s, want 200", resp.Status)
	}
}
