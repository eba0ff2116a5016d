package audio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRingConcurrent writes a counter as fast as possible from one goroutine
// (the audio callback's role) into a small ring while another reads chunks:
// every chunk must hold exactly the counter values of its frames, never a
// mix of two laps, and the frames skipped between chunks must equal the
// dropped count. float32 holds integers up to 2^24 exactly.
func TestRingConcurrent(t *testing.T) {
	const (
		channels  = 2
		chunk     = 64
		callbacks = 20000
		perBuffer = 37 // frames per callback, prime so laps do not line up
	)
	r := newRing(4*chunk, channels)
	go func() {
		buf := make([]float32, perBuffer*channels)
		for n := 0; n < callbacks; n++ {
			for i := range buf {
				buf[i] = float32(n*perBuffer*channels + i)
			}
			r.write(buf)
		}
		r.close()
	}()
	var next, gaps, frames int64
	for {
		off, samples, err := r.readChunk(context.Background(), chunk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if off < next {
			t.Fatalf("chunk at frame %d overlaps the previous one ending at %d", off, next)
		}
		for i, v := range samples {
			if want := float32(off*channels + int64(i)); v != want {
				t.Fatalf("chunk at frame %d, sample %d = %g, want %g (torn read)", off, i, v, want)
			}
		}
		gaps += off - next
		next = off + chunk
		frames += chunk
	}
	if gaps != r.dropped.Load() {
		t.Fatalf("skipped %d frames, counted %d dropped", gaps, r.dropped.Load())
	}
	// What is left after the end is less than a chunk.
	if total := int64(callbacks * perBuffer); total-next >= chunk+4*chunk || next > total {
		t.Fatalf("read up to frame %d of %d", next, total)
	}
	t.Logf("%d frames read, %d dropped", frames, gaps)
}

// TestRingOversizedWrite writes more than the ring holds at once: only the
// newest frames are kept.
func TestRingOversizedWrite(t *testing.T) {
	r := newRing(4, 1)
	r.write([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	off, got, err := r.readChunk(context.Background(), 4)
	if err != nil || off != 6 || got[0] != 6 || got[3] != 9 || r.dropped.Load() != 6 {
		t.Fatalf("readChunk = %d, %v, %v with %d dropped; want frames 6..9 and 6 dropped", off, got, err, r.dropped.Load())
	}
}

func TestRingWaits(t *testing.T) {
	r := newRing(8, 1)
	r.write([]float32{1, 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.readChunk(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("readChunk(cancelled) = %v, want context.Canceled", err)
	}
	got := make(chan []float32)
	go func() {
		_, s, err := r.readChunk(context.Background(), 4)
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	r.write([]float32{3, 4})
	if s := <-got; len(s) != 4 || s[0] != 1 || s[3] != 4 {
		t.Fatalf("readChunk = %v, want [1 2 3 4]", s)
	}
	r.write([]float32{5})
	r.close()
	if _, _, err := r.readChunk(context.Background(), 4); !errors.Is(err, io.EOF) {
		t.Fatalf("readChunk after close with 1 frame left = %v, want io.EOF", err)
	}
}

// TestStreamRead drives a Stream's callback path without a device.
func TestStreamRead(t *testing.T) {
	s := newStream(Config{SampleRate: 8000, Channels: 2, ChunkFrames: 4}.withDefaults())
	s.capture([]float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4})
	c, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Offset != 0 || c.Start != 0 || c.Frames() != 4 || c.Duration() != 500*time.Microsecond || c.Samples[7] != 3 {
		t.Fatalf("Read() = %+v", c)
	}
	if st := s.Stats(); st != (Stats{Frames: 5}) {
		t.Fatalf("Stats() = %+v, want 5 frames", st)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero", Config{}, ""},
		{"full", Config{Device: "USB", SampleRate: 48000, Channels: 2, FramesPerBuffer: 480, ChunkFrames: 4800, BufferFrames: 48000, Latency: time.Millisecond}, ""},
		{"rate", Config{SampleRate: -1}, "SampleRate"},
		{"channels", Config{Channels: -1}, "Channels"},
		{"buffer", Config{FramesPerBuffer: -1}, "FramesPerBuffer"},
		{"chunk", Config{ChunkFrames: -1}, "ChunkFrames"},
		{"ring", Config{BufferFrames: -1}, "BufferFrames"},
		{"latency", Config{Latency: -time.Second}, "Latency"},
		{"ring smaller than chunk", Config{ChunkFrames: 100, BufferFrames: 10}, "smaller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "audio: ") {
				t.Fatalf("Validate() = %v, want an error about %s", err, tc.want)
			}
		})
	}
	d := Config{}.withDefaults()
	if d.SampleRate != 16000 || d.Channels != 1 || d.ChunkFrames != 320 || d.BufferFrames != 32000 || d.FramesPerBuffer != 256 {
		t.Fatalf("defaults = %+v", d)
	}
}

// BenchmarkRing measures the audio callback's work for a 256-frame mono
// buffer (16 ms at 16 kHz: the time PortAudio's thread spends in Go), and a
// write and read of one 1600-frame chunk (100 ms at 16 kHz).
func BenchmarkRing(b *testing.B) {
	for _, bc := range []struct {
		name   string
		frames int
		read   bool
	}{{"write256", 256, false}, {"write+read1600", 1600, true}} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRing(32000, 1)
			buf := make([]float32, bc.frames)
			b.SetBytes(int64(4 * len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				r.write(buf)
				if !bc.read {
					continue
				}
				if _, _, err := r.readChunk(context.Background(), len(buf)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
