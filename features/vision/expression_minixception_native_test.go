//go:build cgo && !nocv && !noort

package vision

import (
	"encoding/json"
	"math"
	"os"
	"testing"
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
