//go:build cgo && !nocv && !noort

package vision

import (
	"syscall"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchExtract measures Extract on one 320x240 frame rendered by filter.
// Besides wall time it reports the process CPU time per frame and the
// frames per second of one core that follow from it, which stay
// meaningful on a busy machine.
func benchExtract(b *testing.B, cfg Config, filter string) {
	e := newExtractor(b, cfg)
	f := frame(b, filter, 320, 240)
	row := make([]float32, Dims)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		if err := e.Extract(f, 320, 240, row); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime(b) - start
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/frame")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/cpu-s")
}

// BenchmarkExtractFace: a face in every frame (BlazeFace + expression).
func BenchmarkExtractFace(b *testing.B) {
	benchExtract(b, Config{}, "scale=240:240,pad=320:240:40:0")
}

// BenchmarkExtractNoFaceHaar: no face, so the Haar fallback runs too.
func BenchmarkExtractNoFaceHaar(b *testing.B) {
	benchExtract(b, Config{}, "crop=64:48:0:0,scale=320:240")
}

// BenchmarkExtractNoFace: no face, Haar fallback off (BlazeFace only).
func BenchmarkExtractNoFace(b *testing.B) {
	benchExtract(b, Config{DisableHaar: true}, "crop=64:48:0:0,scale=320:240")
}

// BenchmarkBlazeFace measures the face detector alone (letterbox, ONNX
// Runtime, decoding) on a 320x240 frame with a face.
func BenchmarkBlazeFace(b *testing.B) {
	e := newExtractor(b, Config{DisableHaar: true})
	f := frame(b, "scale=240:240,pad=320:240:40:0", 320, 240)
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		if _, err := e.blaze.detect(f, 320, 240); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime(b)-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkExpression measures the expression model alone (crop, ONNX
// Runtime) on one face.
func BenchmarkExpression(b *testing.B) {
	e := newExtractor(b, Config{DisableHaar: true})
	f := frame(b, "scale=240:240,pad=320:240:40:0", 320, 240)
	dst := make([]float32, exprClasses)
	face := box{x: 0.37, y: 0.25, w: 0.29, h: 0.38}
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		if err := e.expr.probs(f, 320, 240, face, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime(b)-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkExpressionBatch8 measures the expression model on 8 faces in
// one ONNX Runtime call (batch 8; TestExpressionBatch shows the outputs
// equal batch 1's), reported per face to compare with BenchmarkExpression.
func BenchmarkExpressionBatch8(b *testing.B) {
	const n = 8
	e := newExtractor(b, Config{DisableHaar: true})
	f := frame(b, "scale=240:240,pad=320:240:40:0", 320, 240)
	face := box{x: 0.37, y: 0.25, w: 0.29, h: 0.38}
	batch := make([]float32, n*exprSize*exprSize)
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		for i := range n {
			cropGrey(f, 320, 240, face, batch[i*exprSize*exprSize:(i+1)*exprSize*exprSize])
		}
		if _, err := e.expr.session.Run(onnx.Tensor{Shape: []int64{n, exprSize, exprSize, 1}, F32: batch}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime(b)-start).Seconds()*1e3/float64(b.N*n), "cpu-ms/face")
}
