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
// its Mats (the frame, its grey version and a downscaled copy), reallocated
// only when the frame size changes. Not safe for concurrent use.
type haar struct {
	cascade       gocv.CascadeClassifier
	bgr, gry, sml gocv.Mat
	w, h          int
	small         image.Point // analysed size
	found         []box
}

// Haar cascade parameters. The cascade runs on the grey frame shrunk so
// that its shorter side is at most haarShort pixels; with the cascade's
// 24-pixel window, faces smaller than 1/5 of the frame's shorter side are
// not searched. On a 320x240 frame this cut the fallback's CPU time about
// eightfold (from about 120 to 15 ms on a busy 2-core machine). Scale step
// 1.2 and 5 neighbours (fewer false positives than OpenCV's default 3).
const (
	haarShort     = 120
	haarScale     = 1.2
	haarNeighbors = 5
)

func newHaar(path string) (*haar, error) {
	c := gocv.NewCascadeClassifier()
	if !c.Load(path) {
		_ = c.Close()
		return nil, fmt.Errorf("vision: cannot load Haar cascade %s (Debian package opencv-data)", path)
	}
	return &haar{cascade: c, bgr: gocv.NewMat(), gry: gocv.NewMat(), sml: gocv.NewMat()}, nil
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
		f := min(1, float64(haarShort)/float64(min(width, height)))
		d.small = image.Pt(max(1, int(float64(width)*f+0.5)), max(1, int(float64(height)*f+0.5)))
	}
	data, err := d.bgr.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("vision: haar: %w", err)
	}
	copy(data, frame)
	gocv.CvtColor(d.bgr, &d.gry, gocv.ColorBGRToGray)
	gocv.Resize(d.gry, &d.sml, d.small, 0, 0, gocv.InterpolationArea)
	gocv.EqualizeHist(d.sml, &d.sml)
	rects := d.cascade.DetectMultiScaleWithParams(d.sml, haarScale, haarNeighbors, 0, image.Pt(0, 0), image.Pt(0, 0))
	d.found = d.found[:0]
	fw, fh := float32(d.small.X), float32(d.small.Y)
	for _, r := range rects {
		d.found = append(d.found, box{
			x: float32(r.Min.X) / fw, y: float32(r.Min.Y) / fh,
			w: float32(r.Dx()) / fw, h: float32(r.Dy()) / fh,
		})
	}
	return d.found, nil
}

func (d *haar) close() error {
	return errors.Join(d.cascade.Close(), d.bgr.Close(), d.gry.Close(), d.sml.Close())
}
