package vision

import (
	"math"
	"testing"
)

// TestAnchors checks the anchor table against MediaPipe's SSD anchor
// layout: 16x16 cells of 2 anchors, then 8x8 cells of 6, centred in their
// cells.
func TestAnchors(t *testing.T) {
	a := blazeAnchorTable()
	if len(a) != 896 {
		t.Fatalf("%d anchors, want 896", len(a))
	}
	for _, c := range []struct {
		i    int
		x, y float32
	}{
		{0, 0.5 / 16, 0.5 / 16}, {1, 0.5 / 16, 0.5 / 16}, {2, 1.5 / 16, 0.5 / 16},
		{32, 0.5 / 16, 1.5 / 16}, {511, 15.5 / 16, 15.5 / 16},
		{512, 0.5 / 8, 0.5 / 8}, {517, 0.5 / 8, 0.5 / 8}, {518, 1.5 / 8, 0.5 / 8}, {895, 7.5 / 8, 7.5 / 8},
	} {
		if a[c.i].x != c.x || a[c.i].y != c.y {
			t.Errorf("anchor %d = %+v, want (%v, %v)", c.i, a[c.i], c.x, c.y)
		}
	}
}

func TestIoU(t *testing.T) {
	a := box{x: 0, y: 0, w: 2, h: 2}
	for _, c := range []struct {
		b    box
		want float32
	}{
		{a, 1},
		{box{x: 1, y: 0, w: 2, h: 2}, 2.0 / 6}, // overlap 1x2, union 4+4-2
		{box{x: 2, y: 2, w: 1, h: 1}, 0},
		{box{x: 0.5, y: 0.5, w: 1, h: 1}, 0.25},
	} {
		if got := iou(a, c.b); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("iou(%+v, %+v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}

// TestWeightedNMS: two overlapping boxes merge into their score-weighted
// mean with the top score; a distant box stays on its own.
func TestWeightedNMS(t *testing.T) {
	cands := []box{
		{x: 10, y: 0, w: 1, h: 1, score: 0.6},
		{x: 0, y: 0, w: 2, h: 2, score: 0.9},
		{x: 0.2, y: 0, w: 2, h: 2, score: 0.3},
	}
	got := weightedNMS(cands, nil, 0.3)
	// Merged: x0 = (0*0.9 + 0.2*0.3)/1.2 = 0.05, x1 = (2*0.9 + 2.2*0.3)/1.2 = 2.05.
	want := []box{{x: 0.05, y: 0, w: 2, h: 2, score: 0.9}, {x: 10, y: 0, w: 1, h: 1, score: 0.6}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		for _, d := range []float32{g.x - w.x, g.y - w.y, g.w - w.w, g.h - w.h, g.score - w.score} {
			if math.Abs(float64(d)) > 1e-6 {
				t.Errorf("box %d = %+v, want %+v", i, g, w)
				break
			}
		}
	}
}

// TestLetterbox: a 320x240 frame scales by 0.4 into 128x96 and sits 16
// rows down; a uniform frame gives a uniform tensor in [-1, 1] with black
// padding, and the content area maps back to the whole frame.
func TestLetterbox(t *testing.T) {
	lb := newLetterbox(128, 320, 240)
	frame := make([]byte, 320*240*3)
	for i := 0; i < len(frame); i += 3 {
		frame[i], frame[i+1], frame[i+2] = 255, 0, 51 // B, G, R
	}
	dst := make([]float32, 128*128*3)
	lb.fill(frame, dst)
	for v := range 128 {
		for u := range 128 {
			px := dst[(v*128+u)*3:][:3]
			want := [3]float32{51/127.5 - 1, -1, 1} // R, G, B
			if v < 16 || v >= 112 {
				want = [3]float32{-1, -1, -1}
			}
			for c := range 3 {
				if math.Abs(float64(px[c]-want[c])) > 1e-6 {
					t.Fatalf("pixel (%d, %d) = %v, want %v", u, v, px, want)
				}
			}
		}
	}
	got := lb.toFrame(box{x: 0, y: 16.0 / 128, w: 1, h: 96.0 / 128, score: 0.7})
	if math.Abs(float64(got.x)) > 1e-6 || math.Abs(float64(got.y)) > 1e-6 ||
		math.Abs(float64(got.w-1)) > 1e-6 || math.Abs(float64(got.h-1)) > 1e-6 || got.score != 0.7 {
		t.Errorf("content box maps to %+v, want the whole frame", got)
	}
}

// TestDetectorHotPathNoAllocs: letterboxing, anchor decoding and
// suppression reuse the detector's buffers.
func TestDetectorHotPathNoAllocs(t *testing.T) {
	d := &blazeFace{
		anchors: blazeAnchorTable(), threshold: 0.5, iouThresh: 0.3,
		input: make([]float32, blazeSize*blazeSize*3),
		cands: make([]box, 0, blazeAnchors), kept: make([]box, 0, blazeAnchors),
		lb: newLetterbox(blazeSize, 320, 240),
	}
	frame := make([]byte, 320*240*3)
	scores := make([]float32, blazeAnchors)
	boxes := make([]float32, blazeAnchors*blazeCoords)
	for i := range scores {
		scores[i] = float32(i%7) - 3 // every 7th anchor scores sigmoid(3) = 0.95
		boxes[i*blazeCoords+2], boxes[i*blazeCoords+3] = 20, 20
	}
	allocs := testing.AllocsPerRun(10, func() {
		d.lb.fill(frame, d.input)
		d.cands = d.cands[:0]
		d.decode(scores[:512], boxes[:512*blazeCoords], d.anchors[:512])
		d.decode(scores[512:], boxes[512*blazeCoords:], d.anchors[512:])
		d.kept = weightedNMS(d.cands, d.kept[:0], d.iouThresh)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
	if len(d.kept) == 0 {
		t.Error("no boxes decoded")
	}
}
