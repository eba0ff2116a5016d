package eval_test

import (
	"fmt"

	"github.com/cmc-stream/cmc-stream/model/eval"
)

func ExampleCompute() {
	logits := [][3]float32{
		{2.0, 0.1, -1.0}, // negative
		{0.0, 1.5, 0.2},  // neutral wins the 3-way argmax, positive the 2-way
		{-0.5, 0.0, 3.0}, // positive
	}
	truth := []int{0, 1, 2}
	r, err := eval.Compute(logits, truth, eval.MOSI)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Acc3, r.Has0Acc2, r.Non0Acc2, r.Non0Acc2Reference)
	// Output: 1 1 1 0.5
}
