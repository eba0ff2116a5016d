package media_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/cmc-stream/cmc-stream/ingest/media"
)

// ExampleOpen reads a 16 kHz WAV file (written here: a quarter second of
// silence) in 100 ms chunks (the default is 20 ms), each stamped with its start time. The audio
// track of a video reads the same way (through ffmpeg); Config.Realtime
// paces the chunks like a microphone.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "media-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "silence.wav")
	const frames = 4000 // 250 ms at 16 kHz, 16-bit mono
	header := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data")
	header = binary.LittleEndian.AppendUint32(header, 2*frames)
	binary.LittleEndian.PutUint32(header[4:], uint32(len(header)-8+2*frames))
	if err := os.WriteFile(path, append(header, make([]byte, 2*frames)...), 0o644); err != nil {
		log.Fatal(err)
	}

	src, err := media.Open(media.Config{Path: path, ChunkFrames: 1600})
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
		fmt.Println(c.Start, len(c.Samples), c.Duration())
	}
	// Output:
	// 0s 1600 100ms
	// 100ms 1600 100ms
	// 200ms 800 50ms
}
