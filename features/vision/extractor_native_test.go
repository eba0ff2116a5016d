//go:build cgo && !nocv && !noort

package vision

import (
	"errors"
	"math"
	"os/exec"
	"sync"
	"testing"
)

// hopper is a public-domain photo of Grace Hopper (testdata/vision/README.md).
const hopper = "../../testdata/vision/grace_hopper_256.jpg"

// Landmarks of her face in the 256x256 photo, read off the image by eye
// (pixel centres): both eyes and the middle of the lips. Her face is about
// 105 pixels wide.
var hopperLandmarks = [][2]float64{{108, 95}, {153, 95}, {131, 131}}

// placement says where the photo lies in a test frame: scaled to size x
// size pixels with its top-left corner at (x, y), in a frame of w x h.
type placement struct{ x, y, size, w, h float64 }

// frames caches the frames rendered by frame, by filter graph: each
// ffmpeg run costs a process start.
var (
	framesMu sync.Mutex
	frames   = map[string][]byte{}
)

// frame renders the Grace Hopper photo through an ffmpeg filter graph into
// a raw BGR frame of w x h pixels. Callers must not modify the frame.
func frame(t testing.TB, filter string, w, h int) []byte {
	t.Helper()
	return photoFrame(t, hopper, filter, w, h)
}

// photoFrame renders a photo through an ffmpeg filter graph into a raw BGR
// frame of w x h pixels. Callers must not modify the frame.
func photoFrame(t testing.TB, photo, filter string, w, h int) []byte {
	t.Helper()
	framesMu.Lock()
	defer framesMu.Unlock()
	key := photo + "|" + filter
	if f, ok := frames[key]; ok && len(f) == w*h*3 {
		return f
	}
	out, err := exec.Command("ffmpeg", "-loglevel", "error", "-i", photo,
		"-filter_complex", filter, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v", filter, err)
	}
	if len(out) != w*h*3 {
		t.Fatalf("ffmpeg %s: %d bytes, want %dx%dx3", filter, len(out), w, h)
	}
	frames[key] = out
	return out
}

func newExtractor(t testing.TB, cfg Config) *Extractor {
	t.Helper()
	e, err := New(withTestModels(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// wantFace checks that row holds a face whose box contains the eyes and
// lips of the photo placed at p and whose width is 30% to 55% of the
// photo's (detectors disagree on where a face ends: BlazeFace's box stops
// at the brows and chin, Haar's square reaches into the hat).
func wantFace(t *testing.T, row []float32, p placement) {
	t.Helper()
	if row[ColFacePresent] != 1 {
		t.Fatalf("no face: %v", row)
	}
	x0, y0 := float64(row[ColFaceX])*p.w, float64(row[ColFaceY])*p.h
	x1, y1 := x0+float64(row[ColFaceW])*p.w, y0+float64(row[ColFaceH])*p.h
	for _, l := range hopperLandmarks {
		lx, ly := p.x+l[0]*p.size/256, p.y+l[1]*p.size/256
		if lx < x0 || lx > x1 || ly < y0 || ly > y1 {
			t.Errorf("landmark (%.0f, %.0f) outside the face box (%.0f, %.0f)-(%.0f, %.0f)", lx, ly, x0, y0, x1, y1)
		}
	}
	if r := (x1 - x0) / p.size; r < 0.3 || r > 0.55 {
		t.Errorf("face %.0f pixels wide, want 30%%..55%% of the photo's %.0f", x1-x0, p.size)
	}
}

// TestExtractFace finds Grace Hopper's face with BlazeFace in a 320x240
// frame where the photo, scaled to 240x240, sits 40 pixels from the left.
func TestExtractFace(t *testing.T) {
	e := newExtractor(t, Config{})
	f := frame(t, "scale=240:240,pad=320:240:40:0", 320, 240)
	row := make([]float32, Dims)
	if err := e.Extract(f, 320, 240, row); err != nil {
		t.Fatal(err)
	}
	wantFace(t, row, placement{x: 40, size: 240, w: 320, h: 240})
	if row[ColFaceHaar] != 0 || row[ColFaceScore] < DefaultScoreThreshold || row[ColFaceScore] > 1 {
		t.Errorf("score %v, haar %v: want a BlazeFace score in [0.5, 1]", row[ColFaceScore], row[ColFaceHaar])
	}
	wantProbs(t, row)
}

// wantProbs checks that the expression columns hold a probability
// distribution.
func wantProbs(t *testing.T, row []float32) {
	t.Helper()
	var sum float64
	for i := ColExprAngry; i <= ColExprNeutral; i++ {
		if row[i] < 0 || row[i] > 1 {
			t.Errorf("%s = %v, want a probability", columns[i], row[i])
		}
		sum += float64(row[i])
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("expression probabilities sum to %v, want 1", sum)
	}
}

// TestExtractSmile: Eileen Collins smiles broadly in her NASA portrait
// (testdata/vision/README.md), so happy must be by far the most probable
// expression, whether the photo is letterboxed, squeezed to 4:3 or whole.
func TestExtractSmile(t *testing.T) {
	e := newExtractor(t, Config{})
	const collins = "../../testdata/vision/eileen_collins_256.jpg"
	row := make([]float32, Dims)
	for _, c := range []struct {
		filter string
		w, h   int
	}{
		{"scale=240:240,pad=320:240:40:0", 320, 240},
		{"scale=320:240", 320, 240},
		{"null", 256, 256},
	} {
		if err := e.Extract(photoFrame(t, collins, c.filter, c.w, c.h), c.w, c.h, row); err != nil {
			t.Fatal(err)
		}
		if row[ColFacePresent] != 1 {
			t.Fatalf("%s: no face", c.filter)
		}
		wantProbs(t, row)
		if row[ColExprHappy] < 0.9 {
			t.Errorf("%s: expr_happy = %v, want > 0.9 for a broad smile (row %v)", c.filter, row[ColExprHappy], row)
		}
	}
}

// TestExtractLargestFace puts a small copy of the photo (80x80, top-left)
// beside a large one (160x160 at x=140, y=60) and wants the large face.
func TestExtractLargestFace(t *testing.T) {
	e := newExtractor(t, Config{})
	f := frame(t, "split[a][b];[a]scale=160:160,pad=320:240:140:60[big];[b]scale=80:80[small];[big][small]overlay=10:10", 320, 240)
	row := make([]float32, Dims)
	if err := e.Extract(f, 320, 240, row); err != nil {
		t.Fatal(err)
	}
	wantFace(t, row, placement{x: 140, y: 60, size: 160, w: 320, h: 240})
}

// TestExtractNoFace wants the no-face vector (all zeros) for the flag in
// the photo's top-left corner, scaled to 320x240, with the Haar fallback
// on, and for a black frame.
func TestExtractNoFace(t *testing.T) {
	e := newExtractor(t, Config{})
	row := make([]float32, Dims)
	for name, f := range map[string][]byte{
		"flag":  frame(t, "crop=64:48:0:0,scale=320:240", 320, 240),
		"black": make([]byte, 320*240*3),
	} {
		for i := range row {
			row[i] = -1 // Extract must overwrite every column.
		}
		if err := e.Extract(f, 320, 240, row); err != nil {
			t.Fatal(err)
		}
		for i, v := range row {
			if v != 0 {
				t.Errorf("%s: column %s = %v, want the no-face value 0", name, columns[i], v)
			}
		}
	}
}

// TestHaar runs the cascade on the photo alone (the cascade misses her
// when the photo is squeezed to 4:3): the Viola-Jones detector
// finds her face near the same place.
func TestHaar(t *testing.T) {
	h, err := newHaar(DefaultHaarCascade)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	f := frame(t, "null", 256, 256)
	faces, err := h.detect(f, 256, 256)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) == 0 {
		t.Fatal("no face")
	}
	b := largest(faces)
	row := []float32{1, b.x, b.y, b.w, b.h}
	wantFace(t, row, placement{size: 256, w: 256, h: 256})
}

// TestExtractHaarFallback disables BlazeFace with a score threshold of 1,
// which no sigmoid score of this photo reaches, so the face must come from
// the cascade: score 0, face_haar 1.
func TestExtractHaarFallback(t *testing.T) {
	e := newExtractor(t, Config{ScoreThreshold: 1})
	f := frame(t, "scale=240:240,pad=320:240:40:0", 320, 240)
	row := make([]float32, Dims)
	if err := e.Extract(f, 320, 240, row); err != nil {
		t.Fatal(err)
	}
	wantFace(t, row, placement{x: 40, size: 240, w: 320, h: 240})
	if row[ColFaceHaar] != 1 || row[ColFaceScore] != 0 {
		t.Errorf("haar %v score %v, want 1 and 0", row[ColFaceHaar], row[ColFaceScore])
	}
	wantProbs(t, row)
}

func TestExtractErrors(t *testing.T) {
	e := newExtractor(t, Config{DisableHaar: true})
	row := make([]float32, Dims)
	if err := e.Extract(make([]byte, 10), 320, 240, row); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short frame: %v, want ErrFrameSize", err)
	}
	if err := e.Extract(nil, 0, 0, row); !errors.Is(err, ErrFrameSize) {
		t.Errorf("empty frame: %v, want ErrFrameSize", err)
	}
	if err := e.Extract(make([]byte, 4*4*3), 4, 4, row[:Dims-1]); !errors.Is(err, ErrDstSize) {
		t.Errorf("short dst: %v, want ErrDstSize", err)
	}
	if _, err := New(withTestModels(Config{FaceModel: "/nonexistent.onnx"})); err == nil {
		t.Error("missing face model accepted")
	}
	if _, err := New(withTestModels(Config{HaarCascade: "/nonexistent.xml"})); err == nil {
		t.Error("missing cascade accepted")
	}
	if _, err := New(withTestModels(Config{ExpressionModel: "/nonexistent.onnx"})); err == nil {
		t.Error("missing expression model accepted")
	}
}

func TestSpec(t *testing.T) {
	e := newExtractor(t, Config{DisableHaar: true})
	s := e.Spec()
	if s.Dims() != Dims || len(e.Columns()) != Dims || s.Haar || s.ScoreThreshold != DefaultScoreThreshold {
		t.Errorf("spec %+v", s)
	}
	if err := s.Check(s); err != nil {
		t.Error(err)
	}
	other := s
	other.Haar = true
	if err := s.Check(other); err == nil {
		t.Error("differing haar accepted")
	}
}
