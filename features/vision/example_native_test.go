//go:build cgo && !nocv && !noort

package vision_test

import (
	"fmt"

	"github.com/cmc-stream/cmc-stream/features/vision"
)

// A black frame has no face: Extract writes the no-face vector, all zeros.
// The command initialises ONNX Runtime (onnx.Init) first; the models are
// those make setup put in the assets folder (here the clone's third_party).
func ExampleExtractor_Extract() {
	e, err := vision.New(vision.DefaultConfig("../../third_party"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	const w, h = 320, 240
	frame := make([]byte, w*h*3) // BGR
	row := make([]float32, vision.Dims)
	if err := e.Extract(frame, w, h, row); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(row[vision.ColFacePresent], row[vision.ColExprNeutral])
	// Output: 0 0
}
