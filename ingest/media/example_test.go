package media_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/cmc-stream/cmc-stream/ingest/media"
)

// ExampleOpen reads the audio track of a video at 16 kHz mono, paced in
// real time like a microphone, in 100 ms chunks.
func ExampleOpen() {
	src, err := media.Open(media.Config{Path: "interview.mp4", Realtime: true})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	for {
		c, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.Start, len(c.Samples))
	}
}
