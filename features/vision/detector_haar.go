//go:build cgo && !nocv

package vision

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// haar is the OpenCV Viola-Jones face detector (Viola and Jones, "Rapid
// Object Detection using a Boosted Cascade of Simple Features", CVPR 2001)
// run through gocv, the fallback when BlazeFace finds no face. It keeps
// one BGR and one grey Mat, reallocated only when the frame size changes.
// Not safe for concurrent use.
type haar struct {
	cascade  gocv.CascadeClassifier
	bgr, gry gocv.Mat
	w, h     int
	found    []box
}

// Haar cascade parameters: OpenCV's documented defaults for scale (1.1),
// 5 neighbours (fewer false positives than the default 3, as the
// facedetect tool uses), and a minimum face of 1/10 of the shorter side.
const (
	haarScale     = 1.1
	haarNeighbors = 5
)

func newHaar(path string) (*haar, error) {
	c := gocv.NewCascadeClassifier()
	if !c.Load(path) {
		_ = c.Close()
		return nil, fmt.Errorf("vision: cannot load Haar cascade %s (Debian package opencv-data)", path)
	}
	return &haar{cascade: c, bgr: gocv.NewMat(), gry: gocv.NewMat()}, nil
}

// detect returns the faces of a BGR frame in normalised coordinates; the
// cascade gives no confidence, so score is 0. The slice is reused by the
// next call.
func (d *haar) detect(frame []byte, width, height int) ([]box, error) {
	if d.w != width || d.h != height {
		if err := d.bgr.Close(); err != nil {
			return nil, fmt.Errorf("vision: haar: %w", err)
		}
		d.bgr = gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC3)
		d.w, d.h = width, height
	}
	data, err := d.bgr.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("vision: haar: %w", err)
	}
	copy(data, frame)
	gocv.CvtColor(d.bgr, &d.gry, gocv.ColorBGRToGray)
	gocv.EqualizeHist(d.gry, &d.gry)
	minSide := min(width, height) / 10
	rects := d.cascade.DetectMultiScaleWithParams(d.gry, haarScale, haarNeighbors, 0,
		image.Pt(minSide, minSide), image.Pt(0, 0))
	d.found = d.found[:0]
	fw, fh := float32(width), float32(height)
	for _, r := range rects {
		d.found = append(d.found, box{
			x: float32(r.Min.X) / fw, y: float32(r.Min.Y) / fh,
			w: float32(r.Dx()) / fw, h: float32(r.Dy()) / fh,
		})
	}
	return d.found, nil
}

func (d *haar) close() error {
	return errors.Join(d.cascade.Close(), d.bgr.Close(), d.gry.Close())
}
