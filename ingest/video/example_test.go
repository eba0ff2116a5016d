package video_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/cmc-stream/cmc-stream/ingest/video"
)

// ExampleOpen captures the first camera at 224 pixels wide in grey and reads
// frames until the context ends. Frames the reader is too slow for are
// dropped, the oldest first, and counted.
func ExampleOpen() {
	src, err := video.Open(video.Config{Device: "0", Width: 224, Format: video.Grey, QueueFrames: 4})
	if err != nil {
		log.Fatal(err) // errors.Is(err, video.ErrNoDevice) without a camera
	}
	defer src.Close()
	ctx := context.Background()
	for {
		f, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(f.Index, f.Time, f.Width, f.Height)
	}
	fmt.Printf("%+v\n", src.Stats())
}

// ExampleReadFile extracts every frame of a clip for offline feature
// extraction, at 112x112 BGR.
func ExampleReadFile() {
	st, err := video.ReadFile(context.Background(), "clip.mp4", video.Config{Width: 112, Height: 112}, func(f video.Frame) error {
		fmt.Println(f.Index, f.Time, len(f.Pix))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Frames, "frames,", st.DecodeErrors, "skipped")
}
