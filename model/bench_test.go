package model

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cmc-stream/cmc-stream/internal/simd"
)

// BenchmarkForward measures inference per sample for the MOSI and SIMS
// shapes (issue: text 50x768, audio 375x5, vision 500x20, 2 layers, 4 heads;
// SIMS 39x768, 400x33, 55x709, 5 layers, 4 heads) at batch 1 and 64, with
// full-length audio/vision and with 30% real frames, on 2 threads.
func BenchmarkForward(b *testing.B) {
	for _, preset := range []string{"mosi", "sims"} {
		for _, batch := range []int{1, 64} {
			for _, fill := range []float64{1, 0.3} {
				b.Run(fmt.Sprintf("%s/batch=%d/fill=%.0f%%", preset, batch, fill*100), func(b *testing.B) {
					cfg := Presets[preset].Config()
					m, err := New(cfg)
					if err != nil {
						b.Fatal(err)
					}
					m.Weights.Randomize(1)
					x := SyntheticInput(&m.Config, batch, fill, 2)
					run := NewInferencer(m, Options{Threads: 2})
					var out Output
					b.ResetTimer()
					for range b.N {
						if err := run.Forward(x, &out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/sample")
				})
			}
		}
	}
}

// BenchmarkLinear compares gonum's blas32 GEMM with the Inferencer's
// row-times-matrix kernel on the encoder's linear layers over 500 rows (one
// full-length MOSI vision sequence), single-threaded. The kernel is what
// Forward uses; gonum is the baseline it has to beat.
func BenchmarkLinear(b *testing.B) {
	const rows = 500
	for _, shape := range []struct{ in, out int }{{32, 96}, {32, 128}, {128, 32}, {768, 32}} {
		l := newLinear(shape.in, shape.out, true)
		m := &Model{Weights: &Weights{}}
		m.Weights.Branches[Text].Proj = l
		in := NewInferencer(m, Options{})
		x := make([]float32, rows*shape.in)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		dst := make([]float32, rows*shape.out)
		name := fmt.Sprintf("%dx%d", shape.in, shape.out)
		b.Run(name+"/gonum", func(b *testing.B) {
			for range b.N {
				blas32.Gemm(blas.NoTrans, blas.Trans, 1,
					blas32.General{Rows: rows, Cols: l.In, Stride: l.In, Data: x},
					blas32.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: l.Weight},
					0, blas32.General{Rows: rows, Cols: l.Out, Stride: l.Out, Data: dst})
			}
		})
		b.Run(name+"/kernel", func(b *testing.B) {
			for range b.N {
				in.linear(dst, x, rows, &m.Weights.Branches[Text].Proj, simd.Overwrite)
			}
		})
	}
}
