//go:build cgo && !nocv && !noort

package vision

import (
	"os/exec"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// TestExtractVideo runs the extractor over a clip made with ffmpeg and
// read back with gocv: 5 frames of the photo (a face) then 5 frames of the
// flag (no face), 320x240 at 10 frames/s, MJPG in AVI.
func TestExtractVideo(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.avi")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-i", hopper, "-filter_complex",
		"split[a][b];[a]scale=240:240,pad=320:240:40:0,loop=4:1:0,setpts=N/10/TB[face];"+
			"[b]crop=64:48:0:0,scale=320:240,loop=4:1:0,setpts=N/10/TB[flag];"+
			"[face][flag]concat=n=2,format=yuvj420p",
		"-r", "10", "-c:v", "mjpeg", "-q:v", "3", clip)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	vc, err := gocv.VideoCaptureFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	e := newExtractor(t, Config{})
	row := make([]float32, Dims)
	var present []float32
	for vc.Read(&m) {
		if m.Empty() {
			break
		}
		if err := e.Extract(m.ToBytes(), m.Cols(), m.Rows(), row); err != nil {
			t.Fatal(err)
		}
		present = append(present, row[ColFacePresent])
	}
	want := []float32{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	if len(present) != len(want) {
		t.Fatalf("%d frames (face_present %v), want %d", len(present), present, len(want))
	}
	for i := range want {
		if present[i] != want[i] {
			t.Errorf("frame %d: face_present %v, want %v (all: %v)", i, present[i], want[i], present)
		}
	}
}
