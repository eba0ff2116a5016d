package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
	"github.com/cmc-stream/cmc-stream/sink/preview"
)

// cardView is what the camera card shows.
type cardView struct {
	Hidden bool        `json:"hidden"`
	Stream string      `json:"stream"`
	Faces  string      `json:"faces"`
	Boxes  [][4]string `json:"boxes"`
	Scored []bool      `json:"scored"`
	Expr   []string    `json:"expr"`
	Width  int         `json:"width"`
	Loaded bool        `json:"loaded"`
}

const cardJS = `(() => {
  const img = document.getElementById("preview-img");
  const boxes = [...document.querySelectorAll("#preview-boxes .face")];
  return JSON.stringify({hidden: document.getElementById("preview").hidden,
    stream: document.getElementById("preview-stream").textContent,
    faces: document.getElementById("preview-faces").textContent,
    boxes: boxes.map((b) => [b.dataset.x, b.dataset.y, b.dataset.w, b.dataset.h]),
    scored: boxes.map((b) => b.classList.contains("scored")),
    expr: [...document.querySelectorAll("#preview-expr .prob")].map((p) => p.textContent),
    width: img.naturalWidth, loaded: img.complete && img.naturalWidth > 0});
})()`

func (d *page) card() cardView {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	var raw string
	if err := d.page.Eval(ctx, cardJS, &raw); err != nil {
		d.t.Fatal(err)
	}
	var v cardView
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

func newSink(t *testing.T, cfg sink.HTTPConfig) *sink.HTTP {
	t.Helper()
	cfg.Addr, cfg.Static = "127.0.0.1:0", dashboard.FS()
	h, err := sink.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h
}

// TestDashboardPreviewCard publishes a frame through a real preview hub
// behind the HTTP sink: the page shows it with its two face boxes (the
// scored one marked) and the expression, and a stream id made of markup
// as text.
func TestDashboardPreviewCard(t *testing.T) {
	hub, err := preview.New(preview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	h := newSink(t, sink.HTTPConfig{Preview: hub})
	d := openDashboard(t, "http://"+h.Addr()+"/")
	if v := d.card(); !v.Hidden {
		t.Errorf("camera card shown before any frame: %+v", v)
	}
	const stream = `<img src=x onerror="document.title='owned'">`
	// The page's preview feed connects soon after its event feed.
	for deadline := time.Now().Add(testTimeout); !hub.Due(stream); {
		if time.Now().After(deadline) {
			t.Fatal("the page never connected to /preview")
		}
		time.Sleep(pollEvery)
	}
	pix := make([]byte, 64*48*3)
	for i := range pix {
		pix[i] = byte(i)
	}
	faces := []preview.Face{{X: 0.125, Y: 0.25, W: 0.5, H: 0.5, Score: 0.9, Scored: true}, {X: 0.75, Y: 0.5, W: 0.125, H: 0.25, Score: 0.6}}
	if err := hub.Publish(preview.Frame{Stream: stream, Time: 1500 * time.Millisecond, Pix: pix, Width: 64, Height: 48, Faces: faces,
		Expression: []preview.Prob{{Label: "happy", P: 0.75}, {Label: "neutral", P: 0.25}}}); err != nil {
		t.Fatal(err)
	}
	var v cardView
	for deadline := time.Now().Add(testTimeout); ; time.Sleep(pollEvery) {
		if v = d.card(); !v.Hidden && v.Loaded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the frame never showed: %+v", v)
		}
	}
	want := cardView{Stream: stream, Faces: "2", Width: 64, Loaded: true, Scored: []bool{true, false},
		Boxes: [][4]string{{"0.125", "0.25", "0.5", "0.5"}, {"0.75", "0.5", "0.125", "0.25"}}, Expr: []string{"happy0.75", "neutral0.25"}}
	if fmt.Sprint(v) != fmt.Sprint(want) {
		t.Errorf("camera card %+v, want %+v", v, want)
	}
	if s := d.waitFor("a snapshot", func(snapshot) bool { return true }); s.Malformed != "0" {
		t.Errorf("%s malformed messages", s.Malformed)
	}
}

// TestDashboardPreviewMalformed: preview messages that break the format
// are counted as malformed and not shown, and the page goes on.
func TestDashboardPreviewMalformed(t *testing.T) {
	feed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, data := range []string{
			`not json`,
			`{"stream":"a","time_ms":1,"width":2,"height":2,"jpeg":"AAAA","faces":[{"x":2,"y":0,"w":0.5,"h":0.5,"score":1,"scored":true}],"expression":[]}`,
			`{"stream":"a","time_ms":1,"width":2,"height":2,"jpeg":"AA\" onload=\"x","faces":[],"expression":[]}`,
		} {
			fmt.Fprintf(w, "event: preview\ndata: %s\n\n", data)
		}
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	h := newSink(t, sink.HTTPConfig{Preview: feed})
	d := openDashboard(t, "http://"+h.Addr()+"/")
	d.waitFor("three malformed previews", func(s snapshot) bool { return s.Malformed == "3" })
	if v := d.card(); !v.Hidden {
		t.Errorf("a malformed preview was shown: %+v", v)
	}
}
