package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// collect is an event sink that keeps every event; safe for concurrent use.
type collect struct {
	mu  sync.Mutex
	evs []event.Event
}

func (c *collect) Write(_ context.Context, batch []event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, batch...)
	return nil
}

func (c *collect) Close(context.Context) error { return nil }

func (c *collect) events() []event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.evs...)
}

// TestCameraDisappears serves a camera as an MJPEG stream over HTTP whose
// every connection ends after 15 frames, as a network camera that drops
// off does. The capture is counted as lost, opened again after the runner's
// back-off, and the frames of the new capture carry on the stream's time:
// windows after the first loss still hold vision. Windows wait up to 3 s
// for their frames: vision runs at low CPU priority, so a machine busy with
// other tests may delay it.
func TestCameraDisappears(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var frame bytes.Buffer
	if err := jpeg.Encode(&frame, img, nil); err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		tick := time.NewTicker(time.Second / 15)
		defer tick.Stop()
		for range 15 {
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", frame.Len())
			w.Write(frame.Bytes())
			fmt.Fprint(w, "\r\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	}))
	defer srv.Close()
	cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: %s}
text: {max_len: 24}
sources:
  video: [{stream_id: cam, device: %q, fps: 15, width: 160, height: 120}]
window: {policy: sliding, size: 1s, hop: 1s, max_wait: 3s}
sinks: {stdout: {}}
%s`, textBundle(t), srv.URL+"/cam.mjpg", testAssetsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	app, stop, _ := startApp(t, cfg, Options{Extra: []pipeline.Sink[event.Event]{got}})
	poll(t, "three captures", func() error { return errCount("connections", int(conns.Load()), 3) })
	// A window after the first loss (the first capture lasts 1 s, so
	// windows from Seq 2 on) must hold vision again: wait for one rather
	// than stop at a fixed point, since on a loaded machine vision may
	// still be busy with frames of the first captures.
	late := func() int {
		n := 0
		for _, e := range got.events() {
			if e.Window.Seq >= 2 && e.Modalities.Vision.Present {
				n++
			}
		}
		return n
	}
	poll(t, "a window with vision after the first loss", func() error { return errCount("windows", late(), 1) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost := app.videos[0].lost.Load()
	if lost < 2 {
		t.Errorf("%d captures lost, want at least 2", lost)
	}
	// Vision is a stage of the runner: its frames, their features' time and
	// its queue show in the runner's metrics like every other stage's.
	vis := app.node("vision")
	if vis.Kind != pipeline.KindStage || vis.In == 0 || vis.Out == 0 || vis.Latency.Count != vis.In || vis.QueueCap != DefaultQueue {
		t.Errorf("vision stage metrics %+v, want frames in and out, one latency sample each, a queue of %d", vis, DefaultQueue)
	}
	if src := app.node("video"); src.Out != vis.In {
		t.Errorf("video source passed on %d frames, the vision stage took %d", src.Out, vis.In)
	}
	t.Logf("%d connections, %d captures lost, %d events (%d with vision after the first loss), summary %v",
		conns.Load(), lost, len(got.events()), late(), app.Summary())
}
