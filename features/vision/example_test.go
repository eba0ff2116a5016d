package vision_test

import (
	"fmt"

	"github.com/cmc-stream/cmc-stream/features/vision"
)

func ExampleColumns() {
	fmt.Println(vision.Columns())
	// Output: [face_present face_x face_y face_w face_h face_score face_haar expr_angry expr_disgust expr_fear expr_happy expr_sad expr_surprise expr_neutral]
}
