package vision

import (
	"math"
	"testing"
)

// TestCropGrey checks the crop against analytic values: a frame whose
// three channels all equal the column index x (a ramp) gives, over the
// whole frame, column j = j*(W-1)/63 (bilinear interpolation of a linear
// ramp is exact), grey weights summing to 1.0001; a box hanging off the
// frame is black (-1) outside it.
func TestCropGrey(t *testing.T) {
	const w, h = 100, 50
	f := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			for c := range 3 {
				f[(y*w+x)*3+c] = byte(x)
			}
		}
	}
	dst := make([]float32, exprSize*exprSize)
	cropGrey(f, w, h, box{x: 0, y: 0, w: 1, h: 1}, dst)
	for i := range exprSize {
		for j := range exprSize {
			x := float64(j) * (w - 1) / (exprSize - 1)
			want := ((greyR+greyG+greyB)*x/255 - 0.5) * 2
			if d := math.Abs(float64(dst[i*exprSize+j]) - want); d > 1e-5 {
				t.Fatalf("pixel (%d, %d) = %v, want %v", j, i, dst[i*exprSize+j], want)
			}
		}
	}
	// Rows 0..31 of the box [-1, 1) x [0, 1) lie above the frame: sample
	// i is at y = -(h-1) + i*2(h-1)/63, negative for i < 31.5.
	cropGrey(f, w, h, box{x: 0, y: -1, w: 1, h: 2}, dst)
	for i := range exprSize {
		if got := dst[i*exprSize+5]; (i < 32) != (got == -1) {
			t.Errorf("row %d: %v, want black only above the frame", i, got)
		}
	}
}

// TestFaceSquare: a 40x20-pixel face centred at (50, 30) of a 100x60
// frame gives a 40x40 square at the same centre.
func TestFaceSquare(t *testing.T) {
	got := faceSquare(box{x: 0.3, y: 20.0 / 60, w: 0.4, h: 20.0 / 60, score: 0.8}, 100, 60)
	want := box{x: 0.3, y: 10.0 / 60, w: 0.4, h: 40.0 / 60, score: 0.8}
	for _, d := range []float32{got.x - want.x, got.y - want.y, got.w - want.w, got.h - want.h, got.score - want.score} {
		if math.Abs(float64(d)) > 1e-6 {
			t.Fatalf("faceSquare = %+v, want %+v", got, want)
		}
	}
}
