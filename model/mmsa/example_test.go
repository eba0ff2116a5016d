package mmsa_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

func ExampleLoad() {
	d, err := mmsa.Load("../../testdata/mmsa/tiny_sims.pkl")
	if err != nil {
		log.Fatal(err)
	}
	s := d.Splits["train"]
	fmt.Println(s.Len(), s.IDs[0])
	fmt.Println("text", s.Text.N, s.Text.L, s.Text.D)
	fmt.Println("audio", s.Audio.N, s.Audio.L, s.Audio.D)
	fmt.Println("vision", s.Vision.N, s.Vision.L, s.Vision.D)
	fmt.Println("label", s.Regression[0], mmsa.Label3(s.Regression[0]))
	// Output:
	// 10 train_00000$_$0
	// text 10 5 768
	// audio 10 9 33
	// vision 10 7 709
	// label -0.8 0
}

func ExampleWrite() {
	split := &mmsa.Split{
		IDs:           []string{"clip1"},
		RawText:       []string{"great movie"},
		Text:          mmsa.Tensor3{N: 1, L: 2, D: 2, Data: []float32{1, 2, 3, 4}},
		Audio:         mmsa.Tensor3{N: 1, L: 1, D: 3, Data: []float32{0.5, 0, 0}},
		Vision:        mmsa.Tensor3{N: 1, L: 1, D: 2, Data: []float32{1, 1}},
		AudioLengths:  []int{1},
		VisionLengths: []int{1},
		Regression:    []float32{0.6},
	}
	dir, err := os.MkdirTemp("", "dataset-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "unaligned.pkl")
	if err := mmsa.Write(path, &mmsa.Dataset{Splits: map[string]*mmsa.Split{"test": split}}); err != nil {
		log.Fatal(err)
	}
	d, err := mmsa.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Splits["test"].RawText[0], d.Splits["test"].Text.Data)
	// Output: great movie [1 2 3 4]
}
