package audio_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/cmc-stream/cmc-stream/ingest/audio"
)

// ExampleOpen captures five seconds from the default microphone at 16 kHz
// mono in 20 ms chunks.
func ExampleOpen() {
	if err := audio.Init(); err != nil { // once per process, in main
		log.Fatal(err)
	}
	defer audio.Terminate()
	stream, err := audio.Open(audio.Config{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, audio.ErrNoDevice) without a sound card
	}
	defer stream.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		c, err := stream.Read(ctx)
		if err != nil {
			break // ctx.Err() after five seconds
		}
		fmt.Println(c.Start, c.Frames())
	}
	fmt.Printf("%+v\n", stream.Stats())
}
