package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/browsertest"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

// screenshotPath, when set, is where TestDashboardRendersEvents writes its
// screenshot, e.g.
//
//	go test ./web -run TestDashboardRendersEvents -args -screenshot=$PWD/docs/dashboard.png
var screenshotPath = flag.String("screenshot", "", "write the dashboard screenshot of TestDashboardRendersEvents to this PNG file")

// The browser tests share one Chromium and take a few seconds in all, so
// they run with every "go test"; testTimeout bounds each one.
const (
	testTimeout = 60 * time.Second
	viewWidth   = 1280
	viewHeight  = 900
	pollEvery   = 50 * time.Millisecond
)

// dashboard is one test's page in headless Chromium. Its helpers fail the
// test when a step is still waiting at the deadline.
type page struct {
	t        *testing.T
	deadline time.Time
	b        *browsertest.Browser
	page     *browsertest.Page
}

// context returns a context for one step of the test, done at the test's
// end or its deadline.
func (d *page) context() (context.Context, context.CancelFunc) {
	return context.WithDeadline(d.t.Context(), d.deadline)
}

// shared is the Chromium the browser tests share, each in its own tab:
// starting it takes seconds, a tab a fraction of that. TestMain closes it.
var shared struct {
	once sync.Once
	dir  string
	b    *browsertest.Browser
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.b != nil {
		if err := shared.b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the browser:", err)
			code = 1
		}
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// browser returns the shared Chromium, starting it on first use. It fails
// the test, naming the install script, when Chromium is missing.
func browser(t *testing.T) *browsertest.Browser {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "cmc-web-chromium-")
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shared.b, shared.err = browsertest.Start(ctx, shared.dir)
	})
	if errors.Is(shared.err, browsertest.ErrNoBrowser) {
		t.Fatalf("%v: the dashboard tests need a real browser", shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.b
}

// openDashboard opens the dashboard at url in a new tab of the shared
// Chromium and waits until its EventSource is connected, within
// testTimeout. At the end of the test it fails the test if the page threw
// an uncaught exception, and closes the tab.
func openDashboard(t *testing.T, url string) *page {
	t.Helper()
	b := browser(t)
	d := &page{t: t, deadline: time.Now().Add(testTimeout), b: b}
	ctx, cancel := d.context()
	defer cancel()
	page, err := b.Open(ctx, url, viewWidth, viewHeight)
	if err != nil {
		t.Fatalf("%v\nbrowser output:\n%s", err, b.Output())
	}
	t.Cleanup(func() {
		for _, e := range page.Exceptions() {
			t.Errorf("uncaught exception in the page: %s", e)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := page.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	d.page = page
	d.waitFor("the feed to connect", func(s snapshot) bool { return s.Connection == "live" })
	return d
}

// rawFeed stands in for the HTTP sink where a test needs to send what the
// sink never would: it serves the dashboard at "/" and an SSE feed at
// /events whose "sentiment" events carry the strings sent on msgs as they
// are. It has no /metrics. A value on hangup ends the current SSE response;
// while refuse is positive, each new /events request is answered 503 and
// decrements it.
type rawFeed struct {
	msgs   chan string
	hangup chan struct{}
	stop   chan struct{}
	refuse atomic.Int32
}

// feedRetry is the reconnection delay the feed asks of EventSource: short,
// so the reconnection test is quick.
const feedRetry = "retry: 100"

// serveRawFeed starts a rawFeed and returns it with its URL.
func serveRawFeed(t *testing.T) (*rawFeed, string) {
	f := &rawFeed{msgs: make(chan string), hangup: make(chan struct{}), stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(dashboard.FS()))
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		if f.refuse.Add(-1) >= 0 {
			http.Error(w, "refused by the test", http.StatusServiceUnavailable)
			return
		}
		f.refuse.Store(0)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		msg := feedRetry
		for {
			if _, err := fmt.Fprintf(w, "%s\n\n", msg); err != nil || rc.Flush() != nil {
				return
			}
			select {
			case m := <-f.msgs:
				msg = "event: sentiment\ndata: " + m
			case <-f.hangup:
				return
			case <-r.Context().Done():
				return
			case <-f.stop:
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.stop)
		srv.Close()
	})
	return f, srv.URL + "/"
}

// send writes one message on the feed f; it blocks until a feed handler
// takes it.
func (d *page) send(f *rawFeed, msg string) {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	select {
	case f.msgs <- msg:
	case <-ctx.Done():
		d.t.Fatalf("sending %q: %v", msg, ctx.Err())
	}
}

// hangup ends the feed's current SSE response.
func (d *page) hangup(f *rawFeed) {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	select {
	case f.hangup <- struct{}{}:
	case <-ctx.Done():
		d.t.Fatalf("hanging up: %v", ctx.Err())
	}
}

// valid fails the test unless e satisfies Event.Validate, and returns e.
func valid(t *testing.T, e event.Event) event.Event {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("test event: %v", err)
	}
	return e
}

// encode returns the JSON of a valid event.
func encode(t *testing.T, e event.Event) string {
	t.Helper()
	b, err := json.Marshal(valid(t, e))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot is what the test reads off the page: the text of every element
// with an id, and the data attributes that carry state.
type snapshot struct {
	Connection string            `json:"connection"`
	Text       map[string]string `json:"text"`
	Present    map[string]string `json:"present"`
	Malformed  string            `json:"malformed"`
	Lines      int               `json:"lines"`
	Strips     int               `json:"strips"`
	Elements   int               `json:"transcriptElements"`
	Options    []string          `json:"options"`
}

const snapshotJS = `(() => {
  const text = {};
  for (const e of document.querySelectorAll("[id]")) text[e.id] = e.textContent.trim();
  const present = {};
  for (const e of document.querySelectorAll(".mod")) present[e.id] = e.dataset.present;
  return {
    connection: document.body.dataset.connection,
    text: text,
    present: present,
    malformed: document.getElementById("malformed").dataset.count,
    lines: document.querySelectorAll("#chart polyline").length,
    strips: document.querySelectorAll("#chart rect.strip").length,
    transcriptElements: document.getElementById("transcript").children.length,
    options: Array.from(document.getElementById("stream").options, (o) => o.value),
  };
})()`

// checkText reports each element whose text differs from want, keyed by id.
func checkText(t *testing.T, when string, s snapshot, want map[string]string) {
	t.Helper()
	for id, v := range want {
		if s.Text[id] != v {
			t.Errorf("%s: #%s = %q, want %q", when, id, s.Text[id], v)
		}
	}
}

// waitFor polls the page until ok holds, failing the test at the deadline
// with the last snapshot and the browser's output.
func (d *page) waitFor(what string, ok func(snapshot) bool) snapshot {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var s snapshot
	for {
		s = snapshot{}
		err := d.page.Eval(ctx, snapshotJS, &s)
		if err == nil && ok(s) {
			return s
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			d.t.Fatalf("waiting for %s: %v (last error %v)\nlast snapshot: %+v\nbrowser output:\n%s",
				what, ctx.Err(), err, s, d.b.Output())
		}
	}
}

// sample returns the event of window seq of a stream: the probabilities
// move smoothly with seq so the timeline has something to show, vision is
// absent when noVision is set, and every value satisfies Event.Validate.
func sample(stream string, seq uint64, noVision bool) event.Event {
	x := float64(seq)
	probs := event.Softmax([3]float64{math.Sin(x / 4), 0.3 * math.Cos(x/3), math.Cos(x / 5)})
	text := event.Softmax([3]float64{-0.5, 0, 1.2})
	audio := event.Softmax([3]float64{1.1, 0.2, -0.4})
	vision := event.Softmax([3]float64{0.9, -0.1, 0.1})
	sim := [3][3]float64{{1, 0.12, 0.08}, {0.12, 1, 0.91}, {0.08, 0.91, 1}}
	mods := event.Modalities{
		Text:   event.Modality{Present: true, Label: text.Argmax(), Probs: &text, RouterWeight: 0.21},
		Audio:  event.Modality{Present: true, Label: audio.Argmax(), Probs: &audio, RouterWeight: 0.38},
		Vision: event.Modality{Present: true, Label: vision.Argmax(), Probs: &vision, RouterWeight: 0.41},
	}
	if noVision {
		mods.Vision = event.Modality{RouterWeight: 0.05}
		mods.Audio.RouterWeight = 0.74
		sim[2] = [3]float64{0.08, 0.91, 0}
		sim[0][2], sim[1][2] = 0.08, 0.91
	}
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).Add(time.Duration(seq) * 3 * time.Second)
	e := event.Event{
		Schema:     event.Schema,
		EventID:    event.ID(stream, event.Utterance, seq),
		StreamID:   stream,
		Speaker:    "customer",
		Window:     event.Window{Kind: event.Utterance, Seq: seq, Start: start, End: start.Add(2500 * time.Millisecond)},
		Label:      probs.Argmax(),
		Probs:      probs,
		Modalities: mods,
		Consensus:  event.Consensus{EmbeddingSimilarity: sim},
		Transcript: fmt.Sprintf("utterance %d: sure, that's just great", seq),
		Model:      event.Model{Name: "cmc-sims", Version: "1.0.0"},
		LatencyMS:  event.Latency{Features: 12.1, Model: 3.4, EndToEnd: 41},
	}
	e.Derive()
	return e
}

// TestDashboardRendersEvents streams events of two streams into the page
// and checks every panel, the stream selector and a screenshot.
func TestDashboardRendersEvents(t *testing.T) {
	// Drops of other stages, as the pipeline registers them on the sink's
	// registry: cmc_drops_total already counts the aligner's late items, so
	// the page must not add cmc_aligner_late_total to it; it adds the sink's
	// own SSE drops (none here). A label value with markup must not break
	// the page's reading of /metrics.
	reg := prometheus.NewRegistry()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_drops_total", Help: "Media dropped.",
		ConstLabels: prometheus.Labels{"source": "video", "reason": "queue full {x}"}})
	late := prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_aligner_late_total", Help: "Late items."})
	reg.MustRegister(dropped, late)
	dropped.Add(3)
	late.Add(2)
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0", Static: dashboard.FS(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	d := openDashboard(t, "http://"+h.Addr()+"/")

	const n = 40
	write := func(e event.Event) {
		t.Helper()
		if err := h.Write(t.Context(), []event.Event{valid(t, e)}); err != nil {
			t.Fatal(err)
		}
	}
	for seq := range uint64(n) {
		write(sample("call-42", seq, seq == n-1))
		if seq == 5 {
			write(sample("cam-1", 0, false))
		}
	}
	last := sample("call-42", n-1, true)

	s := d.waitFor("the last event", func(s snapshot) bool {
		return s.Text["count-messages"] == fmt.Sprint(n+1) && s.Text["count-drops"] == "3"
	})
	want := map[string]string{
		"fused-label":      string(last.Label),
		"agreement":        fmt.Sprintf("%.2f", last.Consensus.Agreement),
		"mod-text-label":   "positive",
		"mod-text-weight":  "0.21",
		"mod-audio-label":  "negative",
		"mod-audio-weight": "0.74",
		"mod-vision-label": "absent",
		"heat-0-1":         "0.12",
		"heat-1-2":         "0.91",
		"heat-2-1":         "0.91",
		"heat-2-2":         "0.00",
		"transcript":       last.Transcript,
		"lat-features":     "12.1",
		"lat-model":        "3.4",
		"lat-end-to-end":   "41.0",
		"count-streams":    "2",
		"count-malformed":  "0",
		"drops-source":     "(server)",
		"speaker":          "customer",
		"model":            "model cmc-sims 1.0.0",
	}
	checkText(t, "after the events", s, want)
	if s.Present["mod-vision"] != "false" || s.Present["mod-text"] != "true" {
		t.Errorf("data-present = %v, want vision false and text true", s.Present)
	}
	if want := fmt.Sprintf("%d windows; the latest is %s: negative %.2f", n, last.Label, last.Probs.Negative); !strings.Contains(s.Text["chart-desc"], want) {
		t.Errorf("chart description %q does not say %q", s.Text["chart-desc"], want)
	}
	if s.Lines != 3 || s.Strips != 40 {
		t.Errorf("chart has %d lines and %d label strips, want 3 and 40 (one per window)", s.Lines, s.Strips)
	}
	if strings.Join(s.Options, ",") != "call-42,cam-1" {
		t.Errorf("stream options %v, want call-42 then cam-1", s.Options)
	}

	shot, err := d.page.Screenshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkScreenshot(t, shot)
	if *screenshotPath != "" {
		if err := os.WriteFile(*screenshotPath, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Selecting the other stream shows its own latest event.
	if err := d.page.Eval(t.Context(), `(() => {
	  const s = document.getElementById("stream");
	  s.value = "cam-1";
	  s.dispatchEvent(new Event("change"));
	})()`, nil); err != nil {
		t.Fatal(err)
	}
	cam := sample("cam-1", 0, false)
	d.waitFor("the cam-1 stream", func(s snapshot) bool {
		return s.Text["transcript"] == cam.Transcript && s.Text["fused-label"] == string(cam.Label) &&
			s.Text["mod-vision-label"] == "negative" && s.Present["mod-vision"] == "true" && s.Strips == 1
	})
}

// checkScreenshot decodes a PNG screenshot and checks it has the viewport's
// size and is not blank: a rendered dashboard has text, bars and a chart in
// many colours, while a blank or failed page has one or two.
func checkScreenshot(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(viewWidth, viewHeight) {
		t.Errorf("screenshot is %v, want %dx%d", got, viewWidth, viewHeight)
	}
	colours := make(map[[4]uint32]bool)
	var dark int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r >> 8, g >> 8, b >> 8, a >> 8}] = true
			if r+g+b < 3*0x4000 {
				dark++
			}
		}
	}
	// 50 colours and 500 dark sampled pixels: far above a blank page (1
	// colour, no dark pixels on the light scheme) and far below the
	// thousands a rendered dashboard has (anti-aliased text alone).
	if len(colours) < 50 || dark < 500 {
		t.Errorf("screenshot looks blank: %d colours, %d dark pixels sampled", len(colours), dark)
	}
}

// TestDashboardSurvivesMalformedMessages sends messages that break the
// schema in different ways and checks the page counts each one, shows what
// it can, never interprets data as HTML, and renders the next valid event.
func TestDashboardSurvivesMalformedMessages(t *testing.T) {
	f, url := serveRawFeed(t)
	d := openDashboard(t, url)

	d.send(f, encode(t, sample("s", 0, false)))
	d.waitFor("the first valid event", func(s snapshot) bool { return s.Text["count-messages"] == "1" })

	bad := []string{
		`this is not JSON`,
		`[1, 2, 3]`,
		`null`,
		`"just a string"`,
		`{"schema":"cmc.sentiment.v2","label":"positive"}`, // no stream_id
		`{"stream_id":42}`,
		// Mistyped and out-of-range fields, on another stream "m".
		`{"stream_id":"m","modalities":{"text":{"present":"yes","router_weight":-1}}}`,
		`{"stream_id":"m","consensus":{"agreement":"high","embedding_similarity":[[1,0],[0,1]]}}`,
		`{"stream_id":"m","consensus":{"embedding_similarity":[[1,"NaN",0],[0,1,0],[0,0,1]]},` +
			`"probs":{"negative":0.9,"neutral":0.9,"positive":0.9}}`,
		`{"stream_id":"m","window":{"kind":"utterance","seq":-1,"end":"yesterday"}}`,
		// NaN-like strings and an unknown label on stream "s".
		`{"schema":"cmc.sentiment.v2","stream_id":"s","window":{"kind":"utterance","seq":1},` +
			`"label":"furious","probs":{"negative":"NaN","neutral":"Infinity","positive":"0.1"}}`,
		// Missing modalities, absent similarity, HTML in the transcript.
		`{"schema":"cmc.sentiment.v2","stream_id":"s","window":{"kind":"utterance","seq":2,"end":"2026-11-27T10:00:06Z"},` +
			`"label":"neutral","probs":{"negative":0.2,"neutral":0.6,"positive":0.2},"consensus":{"agreement":0.5},` +
			`"transcript":"<b>bold</b><img src=x onerror=\"document.title='pwned'\">","model":{"name":"m"},` +
			`"latency_ms":{"features":1,"model":2,"end_to_end":3}}`,
	}
	for _, m := range bad {
		d.send(f, m)
	}
	s := d.waitFor("the malformed messages", func(s snapshot) bool {
		return s.Text["count-messages"] == fmt.Sprint(1+len(bad))
	})
	partial := map[string]string{
		"count-malformed":  fmt.Sprint(len(bad)),
		"fused-label":      "neutral",
		"mod-text-label":   "absent",
		"mod-audio-label":  "absent",
		"mod-vision-label": "absent",
		"mod-text-weight":  "—",
		"heat-0-1":         "n/a",
		"agreement":        "0.50",
		"transcript":       `<b>bold</b><img src=x onerror="document.title='pwned'">`,
		"malformed-last":   "last malformed: modalities missing (+1 more)",
	}
	checkText(t, "after the malformed messages", s, partial)
	if s.Malformed != fmt.Sprint(len(bad)) {
		t.Errorf("malformed indicator data-count = %q, want %d", s.Malformed, len(bad))
	}
	if s.Elements != 0 {
		t.Errorf("the transcript was parsed as HTML: %d child elements", s.Elements)
	}
	var title string
	if err := d.page.Eval(t.Context(), "document.title", &title); err != nil || title == "pwned" {
		t.Errorf("document.title = %q (%v): the transcript ran as HTML", title, err)
	}

	// A valid event after all that renders in full; windows 3 and 4 never
	// came, and with no /metrics the page counts that gap itself.
	good := sample("s", 5, false)
	d.send(f, encode(t, good))
	s = d.waitFor("the valid event after the malformed ones", func(s snapshot) bool {
		return s.Text["transcript"] == good.Transcript
	})
	after := map[string]string{
		"fused-label":      string(good.Label),
		"mod-vision-label": "negative",
		"mod-text-weight":  "0.21",
		"heat-0-1":         "0.12",
		"count-malformed":  fmt.Sprint(len(bad)),
		"count-drops":      "2",
		"drops-source":     "(seen)",
		"count-streams":    "2",
	}
	checkText(t, "after the valid event", s, after)
	if s.Strips != 3 {
		t.Errorf("timeline has %d windows, want 3 (seq 0, 2 and 5; seq 1 had no usable probabilities)", s.Strips)
	}

	// The page keeps the 64 most recently updated streams, and always the
	// selected one.
	const extra = 70
	for i := range extra {
		d.send(f, encode(t, sample(fmt.Sprintf("x-%02d", i), 0, false)))
	}
	s = d.waitFor("the extra streams", func(s snapshot) bool {
		return s.Text["count-messages"] == fmt.Sprint(2+len(bad)+extra)
	})
	if s.Text["count-streams"] != "64" || len(s.Options) != 64 || s.Options[0] != "s" ||
		s.Options[1] != "x-07" || s.Options[63] != "x-69" || s.Text["transcript"] != good.Transcript {
		t.Errorf("after %d more streams: %s streams, options %v, transcript %q; want 64, s and x-07 to x-69, %q",
			extra, s.Text["count-streams"], s.Options, s.Text["transcript"], good.Transcript)
	}
}

// TestDashboardReconnects checks both ways the page gets its feed back: the
// EventSource's own reconnection after the server ends the response, and
// the page's retry after the browser gives up on an HTTP error.
func TestDashboardReconnects(t *testing.T) {
	f, url := serveRawFeed(t)
	d := openDashboard(t, url)

	d.hangup(f)
	first := sample("r", 0, false)
	d.send(f, encode(t, first)) // taken by the handler of the new connection
	d.waitFor("the event after the EventSource reconnected", func(s snapshot) bool {
		return s.Text["transcript"] == first.Transcript
	})

	// An HTTP error closes the EventSource for good; the page shows it is
	// offline and opens a new one after its backoff: 1 s, then 2 s.
	f.refuse.Store(2) // offline for 1 s + 2 s: long enough to see under load
	d.hangup(f)
	d.waitFor("the page to show it is offline", func(s snapshot) bool {
		return s.Connection == "offline" && strings.HasPrefix(s.Text["connection"], "offline, retrying in")
	})
	d.waitFor("the page to reconnect", func(s snapshot) bool { return s.Connection == "live" })
	second := sample("r", 1, false)
	d.send(f, encode(t, second))
	d.waitFor("the event after the page reconnected", func(s snapshot) bool {
		return s.Text["transcript"] == second.Transcript && s.Text["count-messages"] == "2" && s.Strips == 2
	})

	// At-least-once delivery: the same window again is not plotted twice; a
	// replay from an earlier window starts the timeline afresh.
	d.send(f, encode(t, second))
	d.send(f, encode(t, first))
	s := d.waitFor("the redelivered events", func(s snapshot) bool { return s.Text["count-messages"] == "4" })
	if s.Strips != 1 || s.Text["transcript"] != first.Transcript || s.Text["count-drops"] != "0" {
		t.Errorf("after a duplicate and a replay: %d windows plotted, transcript %q, %s drops; want 1, %q, 0",
			s.Strips, s.Text["transcript"], s.Text["count-drops"], first.Transcript)
	}
}

// TestDashboardWithToken serves the dashboard behind a token: Chromium
// opens the page once with ?token=, is redirected to the page without it,
// and the page's EventSource and metrics requests carry the cookie the
// redirect set (an EventSource cannot send an Authorization header), under
// the page's Content-Security-Policy.
func TestDashboardWithToken(t *testing.T) {
	const token = "dashboard-token-0123456789abcdef0123456789"
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0", Static: dashboard.FS(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	resp, err := http.Get("http://" + h.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the page without the token: %s, want 401 (%v)", resp.Status, err)
	}
	d := openDashboard(t, "http://"+h.Addr()+"/?token="+token)
	if err := h.Write(t.Context(), []event.Event{valid(t, sample("call-7", 0, false))}); err != nil {
		t.Fatal(err)
	}
	d.waitFor("the event", func(s snapshot) bool { return s.Text["count-messages"] == "1" })
}
