//go:build cgo && !nocv && !noort

package vision

import "testing"

// TestExtractFaces: with a small (120 px) and a large (150 px) copy of the
// photo side by side in the frame, Faces reports both, the large one
// being the feature row's box; after a frame without a face, none.
func TestExtractFaces(t *testing.T) {
	e := newExtractor(t, Config{})
	if got := e.Faces(nil); len(got) != 0 {
		t.Errorf("faces before any Extract: %v", got)
	}
	f := frame(t, "split[a][b];[a]scale=150:150,pad=320:240:165:45[big];[b]scale=120:120[small];[big][small]overlay=10:60", 320, 240)
	row := make([]float32, Dims)
	if err := e.Extract(f, 320, 240, row); err != nil {
		t.Fatal(err)
	}
	faces := e.Faces(nil)
	if len(faces) != 2 {
		t.Fatalf("faces %+v, want the small and the large copy", faces)
	}
	var large, small Face
	for _, c := range faces {
		if c.W > large.W {
			small, large = large, c
		} else {
			small = c
		}
	}
	if rowFace := (Face{X: row[ColFaceX], Y: row[ColFaceY], W: row[ColFaceW], H: row[ColFaceH], Score: row[ColFaceScore]}); large != rowFace {
		t.Errorf("largest face %+v, the feature row's %+v", large, rowFace)
	}
	// The small copy's eyes and lips (landmarks scaled to 120 px at 10,
	// 60) lie in the small box.
	for _, l := range hopperLandmarks {
		lx, ly := float32(10+l[0]*120/256)/320, float32(60+l[1]*120/256)/240
		if lx < small.X || lx > small.X+small.W || ly < small.Y || ly > small.Y+small.H || small.Haar || small.Score <= 0 {
			t.Errorf("small face %+v does not hold the landmark (%.3f, %.3f) or is not BlazeFace's", small, lx, ly)
		}
	}
	if err := e.Extract(make([]byte, 320*240*3), 320, 240, row); err != nil {
		t.Fatal(err)
	}
	if got := e.Faces(faces[:0]); len(got) != 0 {
		t.Errorf("faces in a black frame: %+v", got)
	}
}
