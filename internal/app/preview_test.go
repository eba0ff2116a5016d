package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/internal/browsertest"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

// previewView is what the dashboard's preview card shows: the frame's
// stream time, the image's size as decoded and as laid out, and each face
// box's coordinates (its data attributes) and laid-out rectangle.
type previewView struct {
	Hidden   bool         `json:"hidden"`
	TimeMS   string       `json:"time_ms"`
	Natural  [2]float64   `json:"natural"` // naturalWidth, naturalHeight
	Img      [4]float64   `json:"img"`     // left, top, width, height
	Boxes    [][4]string  `json:"boxes"`   // data-x, -y, -w, -h
	Rects    [][4]float64 `json:"rects"`   // left, top, width, height
	Faces    string       `json:"faces"`
	Expr     []string     `json:"expr"`
	Complete bool         `json:"complete"`
}

const previewJS = `(() => {
  const img = document.getElementById("preview-img");
  const r = img.getBoundingClientRect();
  const boxes = [...document.querySelectorAll("#preview-boxes .face")];
  return JSON.stringify({hidden: document.getElementById("preview").hidden, time_ms: img.dataset.timeMs || "",
    natural: [img.naturalWidth, img.naturalHeight], img: [r.left, r.top, r.width, r.height], complete: img.complete,
    boxes: boxes.map((b) => [b.dataset.x, b.dataset.y, b.dataset.w, b.dataset.h]),
    rects: boxes.map((b) => { const q = b.getBoundingClientRect(); return [q.left, q.top, q.width, q.height]; }),
    faces: document.getElementById("preview-faces").textContent,
    expr: [...document.querySelectorAll("#preview-expr dt")].map((d) => d.textContent)});
})()`

// TestDashboardPreview plays the showcase clip in real time through the
// whole pipeline with sinks.http.preview on, and opens the dashboard in
// headless Chromium: the camera card shows the stream's frames as they
// change, and for a frame with a face, the box drawn over the image is the
// one the vision extractor finds in that frame of the file, decoded and
// detected again here, independently of the pipeline, and laid out where
// those fractions of the image are.
func TestDashboardPreview(t *testing.T) {
	const clip = "../../demo/media/showcase.mp4"
	cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: %s}
text: {max_len: 24}
sources:
  video: [{stream_id: cam, device: %s}]
window: {policy: sliding, size: 1s, hop: 1s}
sinks: {http: {listen: "127.0.0.1:0", preview: true}}
observability: {listen: disabled}
%s`, textBundle(t), clip, testAssetsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	app, stop, _ := startApp(t, cfg, Options{Dashboard: dashboard.FS(), Listening: func(a string) { addr <- a }})
	url := "http://" + <-addr + "/"

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b, err := browsertest.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.Open(ctx, url, 1280, 900)
	if err != nil {
		t.Fatalf("%v\nbrowser output:\n%s", err, b.Output())
	}
	defer page.Close(context.Background())

	// Watch the card until it showed two different frames and a frame
	// with a face.
	seen := map[string]bool{}
	var face previewView
	poll(t, "two frames and a face box on the dashboard", func() error {
		var raw string
		if err := page.Eval(ctx, previewJS, &raw); err != nil {
			return err
		}
		var v previewView
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return err
		}
		if !v.Hidden && v.TimeMS != "" && v.Complete && v.Natural[0] > 0 {
			seen[v.TimeMS] = true
			if len(v.Boxes) > 0 && face.TimeMS == "" {
				face = v
			}
		}
		if len(seen) < 2 || face.TimeMS == "" {
			return fmt.Errorf("frames shown %d, face box seen %v; last view %+v", len(seen), face.TimeMS != "", v)
		}
		return nil
	})
	for _, e := range page.Exceptions() {
		t.Errorf("uncaught exception in the page: %s", e)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if app.preview == nil {
		t.Fatal("no preview hub")
	}

	// The thumbnail is the frame itself: the clip is 320 pixels wide, the
	// preview's default width.
	if face.Natural != [2]float64{320, 240} {
		t.Errorf("preview image %v pixels, want the clip's 320x240", face.Natural)
	}
	if face.Faces != "1" || strings.Join(face.Expr, ",") != "angry,disgust,fear,happy,sad,surprise,neutral" {
		t.Errorf("faces %q, expression classes %q", face.Faces, face.Expr)
	}

	// The reference: the same frame decoded from the file and detected
	// here.
	want := referenceFace(t, clip, face.TimeMS)
	got := make([]float64, 4)
	for i, s := range face.Boxes[0] {
		if _, err := fmt.Sscan(s, &got[i]); err != nil {
			t.Fatalf("box %q: %v", face.Boxes[0], err)
		}
	}
	for i, name := range []string{"x", "y", "w", "h"} {
		if math.Abs(got[i]-float64(want[i])) > 1e-6 {
			t.Errorf("frame at %s ms: box %s = %v on the page, %v from the detector", face.TimeMS, name, got[i], want[i])
		}
	}
	// Laid out where those fractions of the image are, within a pixel.
	img, rect := face.Img, face.Rects[0]
	for i, w := range []float64{img[0] + got[0]*img[2], img[1] + got[1]*img[3], got[2] * img[2], got[3] * img[3]} {
		if math.Abs(rect[i]-w) > 1 {
			t.Errorf("box rectangle %v, want %.1f at %d (image at %v)", rect, w, i, img)
		}
	}
	t.Logf("frames shown %d; face at %s ms: %v", len(seen), face.TimeMS, got)
}

// referenceFace decodes the clip, finds its frame at the stream time
// timeMS (as the page wrote it) and returns the box the vision extractor
// finds in it.
func referenceFace(t *testing.T, clip, timeMS string) [4]float32 {
	t.Helper()
	var at float64
	if _, err := fmt.Sscan(timeMS, &at); err != nil {
		t.Fatal(err)
	}
	ex, err := vision.New(vision.DefaultConfig(testNative.AssetsDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	var box [4]float32
	found := false
	_, err = video.ReadFile(t.Context(), clip, video.Config{}, func(f video.Frame) error {
		if found || math.Abs(float64(f.Time)/float64(time.Millisecond)-at) > 1e-3 {
			return nil
		}
		found = true
		row := make([]float32, vision.Dims)
		if err := ex.Extract(f.Pix, f.Width, f.Height, row); err != nil {
			return err
		}
		if row[vision.ColFacePresent] != 1 {
			return fmt.Errorf("no face in the frame at %v", f.Time)
		}
		box = [4]float32{row[vision.ColFaceX], row[vision.ColFaceY], row[vision.ColFaceW], row[vision.ColFaceH]}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no frame of %s at %s ms", clip, timeMS)
	}
	return box
}
