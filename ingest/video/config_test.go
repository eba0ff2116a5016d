package video

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; empty for valid
	}{
		{"device index", Config{Device: "0"}, ""},
		{"full", Config{Device: "a.mp4", FPS: 15, Width: 64, Height: 48, Format: Grey, Realtime: true, QueueFrames: 2, MaxReadFailures: 3}, ""},
		{"no device", Config{}, "Device is required"},
		{"blank device", Config{Device: "  "}, "Device is required"},
		{"negative fps", Config{Device: "0", FPS: -1}, "FPS"},
		{"negative size", Config{Device: "0", Width: -2}, "negative"},
		{"format", Config{Device: "0", Format: 7}, "pixel format"},
		{"queue", Config{Device: "0", QueueFrames: -1}, "QueueFrames"},
		{"failures", Config{Device: "0", MaxReadFailures: -1}, "MaxReadFailures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "video: ") {
				t.Fatalf("Validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestDeviceKind(t *testing.T) {
	for dev, want := range map[string]kind{"0": kindDevice, " 2 ": kindDevice, "clip.mp4": kindFile, "rtsp://cam/1": kindURL, "/tmp/0": kindFile} {
		if got, _ := (Config{Device: dev}).deviceKind(); got != want {
			t.Errorf("deviceKind(%q) = %v, want %v", dev, got, want)
		}
	}
}

func TestOutputSize(t *testing.T) {
	for _, tc := range []struct{ w, h, cw, ch, ww, wh int }{
		{320, 240, 0, 0, 320, 240},
		{320, 240, 160, 0, 160, 120},
		{320, 240, 0, 60, 80, 60},
		{320, 240, 64, 64, 64, 64},
		{1000, 1, 10, 0, 10, 1}, // never zero rows
	} {
		if w, h := outputSize(tc.w, tc.h, tc.cw, tc.ch); w != tc.ww || h != tc.wh {
			t.Errorf("outputSize(%d, %d, %d, %d) = %dx%d, want %dx%d", tc.w, tc.h, tc.cw, tc.ch, w, h, tc.ww, tc.wh)
		}
	}
}

func TestPixelFormat(t *testing.T) {
	if BGR.Channels() != 3 || Grey.Channels() != 1 || BGR.String() != "bgr" || Grey.String() != "grey" || PixelFormat(5).String() != "PixelFormat(5)" {
		t.Fatal("PixelFormat channels or names are wrong")
	}
}

// TestQueueDropsOldest drives the queue directly: a live source keeps the
// newest frames and counts the drops; a non-live one waits for room.
func TestQueueDropsOldest(t *testing.T) {
	s := newSource(3, true, func() {})
	for i := range int64(10) {
		if !s.push(Frame{Index: i}, nil) {
			t.Fatal("live push refused a frame")
		}
	}
	s.finish(nil)
	if st := s.Stats(); st != (Stats{Frames: 10, Dropped: 7}) {
		t.Fatalf("Stats() = %+v, want 10 frames and 7 dropped", st)
	}
	for want := int64(7); want < 10; want++ {
		f, err := s.Read(context.Background())
		if err != nil || f.Index != want {
			t.Fatalf("Read() = frame %d, %v; want frame %d", f.Index, err, want)
		}
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read() after the last frame = %v, want io.EOF", err)
	}

	s = newSource(1, false, func() {})
	done := make(chan struct{})
	if !s.push(Frame{}, done) {
		t.Fatal("push refused a frame with room in the queue")
	}
	close(done)
	if s.push(Frame{}, done) {
		t.Fatal("push of a non-live source did not wait for room")
	}
	if st := s.Stats(); st.Dropped != 0 {
		t.Fatalf("non-live source dropped %d frames", st.Dropped)
	}
}

func TestReadCancelled(t *testing.T) {
	s := newSource(1, true, func() {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read(cancelled) = %v, want context.Canceled", err)
	}
	lost := errors.New("lost")
	s.finish(lost)
	if _, err := s.Read(context.Background()); !errors.Is(err, lost) {
		t.Fatalf("Read() after finish(err) = %v, want that error", err)
	}
}
