//go:build cgo && !nocv && !noort

package vision

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// TestExpressionGoldens crops the photo with the boxes of
// testdata/vision/emotion_goldens.json and wants the probabilities that
// the original TF.js model gave for the same crops made by
// tf.image.cropAndResize: this checks the crop, the grey conversion, the
// scaling and the converted model together. Tolerance 1e-5: float32
// arithmetic in a different order.
func TestExpressionGoldens(t *testing.T) {
	b, err := os.ReadFile("../../testdata/vision/emotion_goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Crops []struct {
			Name  string     `json:"name"`
			Box   [4]float32 `json:"box"` // y1, x1, y2, x2
			Probs []float32  `json:"probs"`
		} `json:"crops"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Crops) == 0 {
		t.Fatal("no crops in the goldens")
	}
	e, err := newExpression(withTestModels(Config{}).ExpressionModel, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// The goldens decoded the same JPEG with ffmpeg; frame does too.
	f := frame(t, "null", 256, 256)
	got := make([]float32, exprClasses)
	for _, c := range g.Crops {
		bx := box{x: c.Box[1], y: c.Box[0], w: c.Box[3] - c.Box[1], h: c.Box[2] - c.Box[0]}
		if err := e.probs(f, 256, 256, bx, got); err != nil {
			t.Fatal(err)
		}
		for i, want := range c.Probs {
			if d := math.Abs(float64(got[i] - want)); d > 1e-5 || math.IsNaN(d) {
				t.Errorf("%s: %s = %v, want %v (TF.js)", c.Name, columns[ColExprAngry+i], got[i], want)
			}
		}
	}
}

// TestExpressionBatch runs the crops of the goldens' photo through the
// expression model in one call of batch N (its input_1 is [N,64,64,1])
// and wants each face's probabilities equal, within 1e-5, to the model's
// answer for that face alone (batch 1): the evidence that batching the
// expression model across faces keeps the features (issue #16 item 2).
func TestExpressionBatch(t *testing.T) {
	e, err := newExpression(withTestModels(Config{}).ExpressionModel, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	f := frame(t, "null", 256, 256)
	boxes := []box{
		{x: 0.1, y: 0.1, w: 0.5, h: 0.5},
		{x: 0.3, y: 0.2, w: 0.6, h: 0.6},
		{x: 0, y: 0, w: 1, h: 1},
		{x: -0.1, y: 0.4, w: 0.4, h: 0.7},
	}
	single := make([][]float32, len(boxes))
	batch := make([]float32, 0, len(boxes)*exprSize*exprSize)
	for i, b := range boxes {
		single[i] = make([]float32, exprClasses)
		if err := e.probs(f, 256, 256, b, single[i]); err != nil {
			t.Fatal(err)
		}
		cropGrey(f, 256, 256, b, e.input)
		batch = append(batch, e.input...)
	}
	out, err := e.session.Run(onnx.Tensor{Shape: []int64{int64(len(boxes)), exprSize, exprSize, 1}, F32: batch})
	if err != nil {
		t.Fatal(err)
	}
	if len(out[0].F32) != len(boxes)*exprClasses {
		t.Fatalf("batch output has shape %v, want [%d %d]", out[0].Shape, len(boxes), exprClasses)
	}
	for i := range boxes {
		for c, want := range single[i] {
			got := out[0].F32[i*exprClasses+c]
			if d := math.Abs(float64(got - want)); d > 1e-5 || math.IsNaN(d) {
				t.Errorf("face %d: %s = %v in the batch, %v alone", i, columns[ColExprAngry+c], got, want)
			}
		}
	}
}
