package preview

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// BenchmarkPublish measures what a due frame costs the vision worker that
// publishes it: downscaling a 640x480 frame to the default 320 pixels wide
// (the encoder is stopped and its queue emptied after each frame, so every
// frame is queued, none dropped).
func BenchmarkPublish(b *testing.B) {
	h, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	h.Close()
	pix := noise(rand.New(rand.NewPCG(1, 2)), 640, 480)
	for b.Loop() {
		if err := h.Publish(Frame{Stream: "a", Pix: pix, Width: 640, Height: 480}); err != nil {
			b.Fatal(err)
		}
		<-h.jobs
	}
}

// BenchmarkEncode measures the encoder's JPEG of one 320x240 thumbnail of
// random pixels (the worst case for its size) at the default quality; it
// reports the JPEG's size.
func BenchmarkEncode(b *testing.B) {
	pix := noise(rand.New(rand.NewPCG(1, 2)), 640, 480)
	thumb := thumbnail(pix, 640, 480, DefaultWidth)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: DefaultQuality}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/frame")
}
