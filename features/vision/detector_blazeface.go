package vision

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// BlazeFace short-range ("front") model geometry, from MediaPipe's
// face_detection_short_range.pbtxt SSD anchor options: a 128x128 input,
// strides 8, 16, 16, 16 (a 16x16 grid with 2 anchors per cell, then an 8x8
// grid with 3x2 = 6 anchors per cell), fixed anchor size, coordinates scaled
// by 128.
const (
	blazeSize    = 128
	blazeAnchors = 16*16*2 + 8*8*6 // 896
	blazeCoords  = 16              // box (4) + 6 key points (12)
)

// box is an axis-aligned rectangle in normalised coordinates (top-left x, y,
// width, height) with a confidence score.
type box struct {
	x, y, w, h, score float32
}

func (b box) area() float32 { return b.w * b.h }

// iou returns the intersection over union of a and b.
func iou(a, b box) float32 {
	x0, y0 := max(a.x, b.x), max(a.y, b.y)
	x1, y1 := min(a.x+a.w, b.x+b.w), min(a.y+a.h, b.y+b.h)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	return inter / (a.area() + b.area() - inter)
}

// anchor is an SSD anchor centre in the 128x128 input, normalised.
type anchor struct{ x, y float32 }

// blazeAnchorTable returns the 896 anchor centres in the model's output
// order: the 16x16 grid (row-major, 2 anchors per cell), then the 8x8 grid
// (6 anchors per cell).
func blazeAnchorTable() []anchor {
	a := make([]anchor, 0, blazeAnchors)
	for _, layer := range []struct{ grid, perCell int }{{16, 2}, {8, 6}} {
		for y := range layer.grid {
			for x := range layer.grid {
				c := anchor{(float32(x) + 0.5) / float32(layer.grid), (float32(y) + 0.5) / float32(layer.grid)}
				for range layer.perCell {
					a = append(a, c)
				}
			}
		}
	}
	return a
}

// letterbox maps a frame into the square model input, keeping the aspect
// ratio and centring it: content covers [offX, offX+contentW) x
// [offY, offY+contentH) of the size x size input, in input pixels.
type letterbox struct {
	size               int
	frameW, frameH     int
	offX, offY         float32
	contentW, contentH float32
	x0, x1             []int32 // per input column: left and right source column (-1: padding)
	wx                 []float32
	y0, y1             []int32 // per input row
	wy                 []float32
}

// newLetterbox precomputes the bilinear sampling tables of a frame of
// frameW x frameH pixels into a size x size input.
func newLetterbox(size, frameW, frameH int) *letterbox {
	lb := &letterbox{size: size, frameW: frameW, frameH: frameH}
	scale := float32(size) / float32(max(frameW, frameH)) // input pixels per frame pixel
	lb.contentW = float32(frameW) * scale
	lb.contentH = float32(frameH) * scale
	lb.offX = (float32(size) - lb.contentW) / 2
	lb.offY = (float32(size) - lb.contentH) / 2
	lb.x0, lb.x1, lb.wx = sampleTable(size, lb.offX, scale, frameW)
	lb.y0, lb.y1, lb.wy = sampleTable(size, lb.offY, scale, frameH)
	return lb
}

// sampleTable returns, for each of n output positions, the two source
// positions and the weight of the second for bilinear sampling of a source
// of length src placed at offset off with the given scale (pixel centres
// aligned, as OpenCV's INTER_LINEAR). Positions outside the placed source
// get -1.
func sampleTable(n int, off, scale float32, src int) (p0, p1 []int32, w []float32) {
	p0, p1, w = make([]int32, n), make([]int32, n), make([]float32, n)
	for i := range n {
		o := float32(i) + 0.5
		if o < off || o >= off+float32(src)*scale {
			p0[i], p1[i] = -1, -1
			continue
		}
		s := (o-off)/scale - 0.5
		s = min(max(s, 0), float32(src-1))
		f := float32(math.Floor(float64(s)))
		p0[i] = int32(f)
		p1[i] = min(int32(f)+1, int32(src-1))
		w[i] = s - f
	}
	return p0, p1, w
}

// fill writes the BGR frame into dst as an RGB NHWC tensor in [-1, 1];
// padding is black (-1).
func (lb *letterbox) fill(frame []byte, dst []float32) {
	stride := lb.frameW * 3
	i := 0
	for v := range lb.size {
		ya, yb, fy := lb.y0[v], lb.y1[v], lb.wy[v]
		for u := range lb.size {
			xa, xb, fx := lb.x0[u], lb.x1[u], lb.wx[u]
			if ya < 0 || xa < 0 {
				dst[i], dst[i+1], dst[i+2] = -1, -1, -1
				i += 3
				continue
			}
			r0, r1 := int(ya)*stride, int(yb)*stride
			a, b := r0+int(xa)*3, r0+int(xb)*3
			c, d := r1+int(xa)*3, r1+int(xb)*3
			for ch := range 3 {
				top := float32(frame[a+ch]) + fx*(float32(frame[b+ch])-float32(frame[a+ch]))
				bot := float32(frame[c+ch]) + fx*(float32(frame[d+ch])-float32(frame[c+ch]))
				val := top + fy*(bot-top)
				// BGR in, RGB out; [0,255] -> [-1,1].
				dst[i+2-ch] = val/127.5 - 1
			}
			i += 3
		}
	}
}

// toFrame maps a box from normalised input coordinates to normalised frame
// coordinates.
func (lb *letterbox) toFrame(b box) box {
	s := float32(lb.size)
	return box{
		x:     (b.x*s - lb.offX) / lb.contentW,
		y:     (b.y*s - lb.offY) / lb.contentH,
		w:     b.w * s / lb.contentW,
		h:     b.h * s / lb.contentH,
		score: b.score,
	}
}

// blazeFace runs the BlazeFace short-range detector (Bazarevsky et al.,
// "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
// arXiv:1907.05047) and decodes its anchors with MediaPipe's weighted
// non-maximum suppression. Not safe for concurrent use.
type blazeFace struct {
	session   *onnx.Session
	path      string
	anchors   []anchor
	threshold float32
	iouThresh float32
	input     []float32
	lb        *letterbox
	cands     []box
	kept      []box
}

// blazeOutputs are the model's output names: scores of the 16x16 and 8x8
// layers, then their regressors.
var blazeOutputs = []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"}

func newBlazeFace(path string, threads int, threshold, iouThresh float32) (*blazeFace, error) {
	s, err := onnx.Open(path, nil, []string{"input:0"}, blazeOutputs, threads)
	if err != nil {
		return nil, fmt.Errorf("vision: face model: %w (scripts/fetch-vision-assets.sh fetches it)", err)
	}
	return &blazeFace{
		session:   s,
		path:      path,
		anchors:   blazeAnchorTable(),
		threshold: threshold,
		iouThresh: iouThresh,
		input:     make([]float32, blazeSize*blazeSize*3),
		cands:     make([]box, 0, blazeAnchors),
		kept:      make([]box, 0, blazeAnchors),
	}, nil
}

// detect returns the faces in a BGR frame, in normalised frame
// coordinates, after suppression. The slice is reused by the next call.
func (d *blazeFace) detect(frame []byte, width, height int) ([]box, error) {
	if d.lb == nil || d.lb.frameW != width || d.lb.frameH != height {
		d.lb = newLetterbox(blazeSize, width, height)
	}
	d.lb.fill(frame, d.input)
	out, err := d.session.Run(onnx.Tensor{Shape: []int64{1, blazeSize, blazeSize, 3}, F32: d.input})
	if err != nil {
		return nil, fmt.Errorf("vision: %s: %w", d.path, err)
	}
	n16 := 16 * 16 * 2
	for i, want := range []int{n16, blazeAnchors - n16, n16 * blazeCoords, (blazeAnchors - n16) * blazeCoords} {
		if len(out[i].F32) != want {
			return nil, fmt.Errorf("vision: %s: output %s has %d values (shape %v), want %d", d.path, blazeOutputs[i], len(out[i].F32), out[i].Shape, want)
		}
	}
	d.cands = d.cands[:0]
	d.decode(out[0].F32, out[2].F32, d.anchors[:n16])
	d.decode(out[1].F32, out[3].F32, d.anchors[n16:])
	d.kept = weightedNMS(d.cands, d.kept[:0], d.iouThresh)
	for i := range d.kept {
		d.kept[i] = d.lb.toFrame(d.kept[i])
	}
	return d.kept, nil
}

// decode appends the boxes whose score passes the threshold, as MediaPipe's
// TensorsToDetectionsCalculator: raw scores clipped to [-100, 100] then a
// sigmoid; centre = anchor + offset/128, size = raw/128.
func (d *blazeFace) decode(scores, boxes []float32, anchors []anchor) {
	for i, a := range anchors {
		raw := min(max(scores[i], -100), 100)
		score := float32(1 / (1 + math.Exp(-float64(raw))))
		if score < d.threshold {
			continue
		}
		r := boxes[i*blazeCoords:]
		cx := a.x + r[0]/blazeSize
		cy := a.y + r[1]/blazeSize
		w, h := r[2]/blazeSize, r[3]/blazeSize
		d.cands = append(d.cands, box{x: cx - w/2, y: cy - h/2, w: w, h: h, score: score})
	}
}

// weightedNMS is MediaPipe's weighted non-maximum suppression: repeatedly
// take the highest-scoring box, average it with every remaining box that
// overlaps it by more than iouThresh (weights: their scores), keep the
// top score, and drop the overlapping boxes. It sorts cands in place and
// appends the results to dst.
func weightedNMS(cands, dst []box, iouThresh float32) []box {
	slices.SortFunc(cands, func(a, b box) int { return cmp.Compare(b.score, a.score) })
	for len(cands) > 0 {
		top := cands[0]
		var sx, sy, sx1, sy1, sw float32
		rest := cands[:0]
		for _, c := range cands {
			if iou(top, c) > iouThresh || c == top {
				sx += c.x * c.score
				sy += c.y * c.score
				sx1 += (c.x + c.w) * c.score
				sy1 += (c.y + c.h) * c.score
				sw += c.score
				continue
			}
			rest = append(rest, c)
		}
		x, y := sx/sw, sy/sw
		dst = append(dst, box{x: x, y: y, w: sx1/sw - x, h: sy1/sw - y, score: top.score})
		cands = rest
	}
	return dst
}

func (d *blazeFace) close() error { return d.session.Close() }
