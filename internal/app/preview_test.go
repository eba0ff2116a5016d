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
// box's coordinates (its data attributes), whether it is drawn as the
// scored face, and its laid-out rectangle.
type previewView struct {
	Hidden   bool         `json:"hidden"`
	TimeMS   string       `json:"time_ms"`
	Natural  [2]float64   `json:"natural"` // naturalWidth, naturalHeight
	Img      [4]float64   `json:"img"`     // left, top, width, height
	Boxes    [][4]string  `json:"boxes"`   // data-x, -y, -w, -h
	Scored   []bool       `json:"scored"`  // drawn as the scored face
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
    scored: boxes.map((b) => b.classList.contains("scored")),
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
// those fractions of the image are; the face count is the detector's.
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
	if n := previewFrames(t, app); n < float64(len(seen)) {
		t.Errorf("cmc_preview_frames_total %v, but the page showed %d frames", n, len(seen))
	}

	// The thumbnail is the frame itself: the clip is 320 pixels wide, the
	// preview's default width.
	if face.Natural != [2]float64{320, 240} {
		t.Errorf("preview image %v pixels, want the clip's 320x240", face.Natural)
	}
	if strings.Join(face.Expr, ",") != "angry,disgust,fear,happy,sad,surprise,neutral" {
		t.Errorf("expression classes %q", face.Expr)
	}

	// The reference: the same frame decoded from the file and detected
	// here: every face, the largest scored.
	want, row := referenceFaces(t, clip, face.TimeMS)
	if face.Faces != fmt.Sprint(len(want)) || len(face.Boxes) != len(want) {
		t.Fatalf("frame at %s ms: page shows %s faces and %d boxes, the detector finds %d", face.TimeMS, face.Faces, len(face.Boxes), len(want))
	}
	var got [4]float64
	for i, w := range want {
		for j, s := range face.Boxes[i] {
			if _, err := fmt.Sscan(s, &got[j]); err != nil {
				t.Fatalf("box %q: %v", face.Boxes[i], err)
			}
		}
		for j, v := range []float32{w.X, w.Y, w.W, w.H} {
			if math.Abs(got[j]-float64(v)) > 1e-6 {
				t.Errorf("frame at %s ms: face %d: box %v on the page, %+v from the detector", face.TimeMS, i, got, w)
				break
			}
		}
		if scored := w.X == row[vision.ColFaceX] && w.Y == row[vision.ColFaceY] && w.W == row[vision.ColFaceW] && w.H == row[vision.ColFaceH]; face.Scored[i] != scored {
			t.Errorf("face %d drawn as scored %v, want %v", i, face.Scored[i], scored)
		}
		// Laid out where those fractions of the image are, within a pixel.
		img, rect := face.Img, face.Rects[i]
		for k, w := range []float64{img[0] + got[0]*img[2], img[1] + got[1]*img[3], got[2] * img[2], got[3] * img[3]} {
			if math.Abs(rect[k]-w) > 1 {
				t.Errorf("face %d: box rectangle %v, want %.1f at %d (image at %v)", i, rect, w, k, img)
			}
		}
	}
	t.Logf("frames shown %d; faces at %s ms: %+v", len(seen), face.TimeMS, want)
}

// previewFrames returns the app's cmc_preview_frames_total.
func previewFrames(t *testing.T, app *App) float64 {
	t.Helper()
	mfs, err := app.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cmc_preview_frames_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no cmc_preview_frames_total among the app's metrics")
	return 0
}

// referenceFaces decodes the clip, finds its frame at the stream time
// timeMS (as the page wrote it) and returns the faces the vision extractor
// finds in it and its feature row.
func referenceFaces(t *testing.T, clip, timeMS string) ([]vision.Face, []float32) {
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
	var faces []vision.Face
	row := make([]float32, vision.Dims)
	found := false
	_, err = video.ReadFile(t.Context(), clip, video.Config{}, func(f video.Frame) error {
		if found || math.Abs(float64(f.Time)/float64(time.Millisecond)-at) > 1e-3 {
			return nil
		}
		found = true
		if err := ex.Extract(f.Pix, f.Width, f.Height, row); err != nil {
			return err
		}
		faces = ex.Faces(nil)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found || len(faces) == 0 {
		t.Fatalf("no frame of %s at %s ms, or no face in it", clip, timeMS)
	}
	return faces, row
}
