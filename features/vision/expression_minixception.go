package vision

import (
	"fmt"
	"math"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// Expression model geometry: mini-Xception (Arriaga et al.,
// arXiv:1710.07557) trained on FER2013 takes 64x64 grey faces and gives
// 7 softmax probabilities.
const (
	exprSize    = 64
	exprClasses = 7
)

// Grey weights of the @vladmandic/human emotion module, which the model
// ships with (ITU-R BT.601 luma, rounded as in MATLAB's rgb2gray).
const greyR, greyG, greyB = 0.2989, 0.587, 0.114

// expression runs the mini-Xception expression model (its TF.js graph
// model converted to ONNX at set-up by internal/tfjs) on one face at a
// time. Not safe for concurrent use.
type expression struct {
	session *onnx.Session
	path    string
	input   []float32
}

func newExpression(path string, threads int) (*expression, error) {
	s, err := onnx.Open(path, nil, []string{"input_1"}, []string{"Identity"}, threads)
	if err != nil {
		return nil, fmt.Errorf("vision: expression model: %w (make setup converts it)", err)
	}
	return &expression{session: s, path: path, input: make([]float32, exprSize*exprSize)}, nil
}

// probs writes the 7 expression probabilities of the face in box b
// (normalised frame coordinates) of a BGR frame into dst.
func (e *expression) probs(frame []byte, width, height int, b box, dst []float32) error {
	cropGrey(frame, width, height, b, e.input)
	out, err := e.session.Run(onnx.Tensor{Shape: []int64{1, exprSize, exprSize, 1}, F32: e.input})
	if err != nil {
		return fmt.Errorf("vision: %s: %w", e.path, err)
	}
	if len(out[0].F32) != exprClasses {
		return fmt.Errorf("vision: %s: output Identity has shape %v, want [1 7]", e.path, out[0].Shape)
	}
	copy(dst, out[0].F32)
	return nil
}

// cropGrey samples box b (normalised x, y, w, h) of a BGR frame into a
// 64x64 grey model input in [-1, 1], as the model's own pipeline does:
// tf.image.cropAndResize (bilinear, the box corners on the corner pixel
// centres, black outside the frame), grey = 0.2989 R + 0.587 G + 0.114 B
// of values in [0, 1], then (g - 0.5) * 2.
func cropGrey(frame []byte, width, height int, b box, dst []float32) {
	y1, x1 := float64(b.y), float64(b.x)
	y2, x2 := float64(b.y+b.h), float64(b.x+b.w)
	hs := (y2 - y1) * float64(height-1) / (exprSize - 1)
	ws := (x2 - x1) * float64(width-1) / (exprSize - 1)
	stride := width * 3
	for i := range exprSize {
		row := dst[i*exprSize : (i+1)*exprSize]
		yi := y1*float64(height-1) + float64(i)*hs
		if yi < 0 || yi > float64(height-1) {
			for j := range row {
				row[j] = -1 // black: (0 - 0.5) * 2
			}
			continue
		}
		top := int(math.Floor(yi))
		bot := int(math.Ceil(yi))
		fy := float32(yi) - float32(top)
		for j := range row {
			xi := x1*float64(width-1) + float64(j)*ws
			if xi < 0 || xi > float64(width-1) {
				row[j] = -1
				continue
			}
			left := int(math.Floor(xi))
			right := int(math.Ceil(xi))
			fx := float32(xi) - float32(left)
			var grey float32
			for c, wgt := range [3]float32{greyB, greyG, greyR} {
				tl := float32(frame[top*stride+left*3+c]) / 255
				tr := float32(frame[top*stride+right*3+c]) / 255
				bl := float32(frame[bot*stride+left*3+c]) / 255
				br := float32(frame[bot*stride+right*3+c]) / 255
				t := tl + (tr-tl)*fx
				bt := bl + (br-bl)*fx
				grey += wgt * (t + (bt-t)*fy)
			}
			row[j] = (grey - 0.5) * 2
		}
	}
}

// faceSquare returns the square box around the centre of face f whose
// side is f's longer side in pixels, in normalised coordinates: the crop
// of the expression model, whose training faces are square.
func faceSquare(f box, width, height int) box {
	w, h := float32(width), float32(height)
	side := max(f.w*w, f.h*h)
	cx, cy := (f.x+f.w/2)*w, (f.y+f.h/2)*h
	return box{x: (cx - side/2) / w, y: (cy - side/2) / h, w: side / w, h: side / h, score: f.score}
}

func (e *expression) close() error { return e.session.Close() }
