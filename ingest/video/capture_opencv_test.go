//go:build cgo && !nocv

package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// clipFrames and clipFPS describe the clips the tests make: ffmpeg's testsrc
// pattern at 320x240, 15 frames per second, 2 seconds.
const (
	clipFrames = 30
	clipFPS    = 15
)

// ffmpeg runs the ffmpeg binary with args and fails the test if it is
// missing or fails; it returns standard output.
func ffmpeg(t testing.TB, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found on PATH: run `make setup` to install it")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-v", "error", "-y"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// makeClip writes the test pattern clip into a temporary directory with the
// given file name (its extension picks the container) and encoder options.
func makeClip(t testing.TB, name string, codec ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	args := []string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "2"}
	ffmpeg(t, append(append(args, codec...), path)...)
	return path
}

// TestMain runs the tests and then, with -tags matprofile, fails if any Mat
// was left unclosed.
func TestMain(m *testing.M) {
	os.Setenv("QT_QPA_PLATFORM", "offscreen") // no window is opened; see dependencies.md
	code := m.Run()
	if err := matLeaks(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func TestReadFileMatchesFFmpeg(t *testing.T) {
	clip := makeClip(t, "clip.mp4", "-pix_fmt", "yuv420p")
	// ffmpeg's own decoding of the same clip, as BGR: the reference pixels.
	want := ffmpeg(t, "-i", clip, "-f", "rawvideo", "-pix_fmt", "bgr24", "-")
	frameBytes := 320 * 240 * 3
	var got []Frame
	st, err := ReadFile(context.Background(), clip, Config{}, func(f Frame) error {
		got = append(got, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Frames: clipFrames}) || len(got) != clipFrames || len(want) != clipFrames*frameBytes {
		t.Fatalf("read %d frames (stats %+v), ffmpeg %d bytes; want %d frames", len(got), st, len(want), clipFrames)
	}
	for i, f := range got {
		if f.Index != int64(i) || f.Width != 320 || f.Height != 240 || f.Format != BGR || len(f.Pix) != frameBytes {
			t.Fatalf("frame %d: index %d, %dx%d %v, %d bytes", i, f.Index, f.Width, f.Height, f.Format, len(f.Pix))
		}
		if wantT := time.Duration(i) * time.Second / clipFPS; absDur(f.Time-wantT) > time.Millisecond {
			t.Errorf("frame %d at %v, want %v", i, f.Time, wantT)
		}
		if wantI := time.Second / clipFPS; absDur(f.Interval-wantI) > time.Microsecond {
			t.Errorf("frame %d announces the next after %v, want 1/%d s", i, f.Interval, clipFPS)
		}
		// OpenCV decodes through the same libavcodec; the YUV to BGR
		// conversion may round differently, so allow 2 levels on average.
		if d := meanAbsDiff(f.Pix, want[i*frameBytes:(i+1)*frameBytes]); d > 2 {
			t.Errorf("frame %d differs from ffmpeg's decoding by %.2f levels on average", i, d)
		}
	}
}

func TestReadFileResizeGrey(t *testing.T) {
	clip := makeClip(t, "clip.avi", "-c:v", "mjpeg", "-q:v", "3")
	want := ffmpeg(t, "-i", clip, "-vf", "scale=160:120:flags=area", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	n := 0
	_, err := ReadFile(context.Background(), clip, Config{Width: 160, Format: Grey}, func(f Frame) error {
		if f.Width != 160 || f.Height != 120 || f.Format != Grey || len(f.Pix) != 160*120 {
			t.Fatalf("frame %d: %dx%d %v, %d bytes; want 160x120 grey", f.Index, f.Width, f.Height, f.Format, len(f.Pix))
		}
		// Different scalers and grey formulas (BT.601 luma both): a few
		// levels on average.
		if d := meanAbsDiff(f.Pix, want[n*len(f.Pix):(n+1)*len(f.Pix)]); d > 4 {
			t.Errorf("frame %d differs from ffmpeg's by %.2f levels on average", n, d)
		}
		n++
		return nil
	})
	if err != nil || n != clipFrames {
		t.Fatalf("ReadFile: %d frames, %v; want %d", n, err, clipFrames)
	}
}

// TestCorruptFramesSkipped zeroes the JPEG data of two frames of an MJPG AVI:
// they are counted and skipped, and the stream goes on with the right
// indices and times.
func TestCorruptFramesSkipped(t *testing.T) {
	clip := makeClip(t, "clip.avi", "-c:v", "mjpeg", "-q:v", "3")
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	soi := []byte{0xFF, 0xD8, 0xFF} // JPEG start-of-image marker: one per frame
	var starts []int
	for i := 0; ; {
		j := bytes.Index(data[i:], soi)
		if j < 0 {
			break
		}
		starts = append(starts, i+j)
		i += j + len(soi)
	}
	if len(starts) != clipFrames {
		t.Fatalf("found %d JPEG frames in the AVI, want %d", len(starts), clipFrames)
	}
	corrupt := map[int64]bool{10: true, 20: true}
	for i := range corrupt {
		clear(data[starts[i]+2 : starts[i]+600])
	}
	if err := os.WriteFile(clip, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var indices []int64
	st, err := ReadFile(context.Background(), clip, Config{}, func(f Frame) error {
		indices = append(indices, f.Index)
		if wantT := time.Duration(f.Index) * time.Second / clipFPS; absDur(f.Time-wantT) > time.Millisecond {
			t.Errorf("frame %d at %v, want %v", f.Index, f.Time, wantT)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Frames: clipFrames - 2, DecodeErrors: 2}) {
		t.Fatalf("stats %+v, want %d frames and 2 decode errors", st, clipFrames-2)
	}
	for _, i := range indices {
		if corrupt[i] {
			t.Fatalf("corrupt frame %d was delivered", i)
		}
	}
}

func TestReadFileStops(t *testing.T) {
	clip := makeClip(t, "clip.avi", "-c:v", "mjpeg")
	stop := errors.New("enough")
	st, err := ReadFile(context.Background(), clip, Config{}, func(f Frame) error {
		if f.Index == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || st.Frames != 5 {
		t.Fatalf("ReadFile = %+v, %v; want 5 frames and the callback's error", st, err)
	}
	if _, err := ReadFile(context.Background(), "0", Config{}, nil); err == nil || !strings.Contains(err.Error(), "device index") {
		t.Fatalf("ReadFile(\"0\") = %v, want a device index error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, clip, Config{}, func(Frame) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadFile(cancelled) = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	// No machine running these tests has 64 cameras.
	_, err := Open(Config{Device: "63"})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "no capture device 63") {
		t.Fatalf("Open(device 63) = %v, want a no capture device error", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	if _, err := Open(Config{Device: missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Open(missing file) = %v, want an error naming the file", err)
	}
	notVideo := filepath.Join(t.TempDir(), "text.mp4")
	if err := os.WriteFile(notVideo, []byte("not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Device: notVideo}); err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Fatalf("Open(not a video) = %v, want a cannot open error", err)
	}
	if _, err := Open(Config{Device: "x.mp4", QueueFrames: -1}); err == nil {
		t.Fatal("Open accepted an invalid config")
	}
}

// TestSourceFile reads a file through the queue without pacing: nothing is
// dropped even with a one-frame queue.
func TestSourceFile(t *testing.T) {
	s, err := Open(Config{Device: makeClip(t, "clip.mp4"), QueueFrames: 1, Height: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := int64(0); ; i++ {
		f, err := s.Read(ctx)
		if errors.Is(err, io.EOF) {
			if i != clipFrames {
				t.Fatalf("io.EOF after %d frames, want %d", i, clipFrames)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Index != i || f.Width != 80 || f.Height != 60 {
			t.Fatalf("frame %d: index %d, %dx%d", i, f.Index, f.Width, f.Height)
		}
	}
	if st := s.Stats(); st != (Stats{Frames: clipFrames}) {
		t.Fatalf("Stats() = %+v", st)
	}
}

// TestSourceKeep queues only the frames Keep selects, with their indices.
func TestSourceKeep(t *testing.T) {
	s, err := Open(Config{Device: makeClip(t, "clip.mp4"), QueueFrames: 1, Height: 60, Keep: func(i int64) bool { return i%3 == 0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int64
	for {
		f, err := s.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Index)
	}
	var want []int64
	for i := int64(0); i < clipFrames; i += 3 {
		want = append(want, i)
	}
	if !slices.Equal(got, want) || s.Stats().Frames != int64(len(want)) {
		t.Fatalf("frames %v (stats %+v), want %v", got, s.Stats(), want)
	}
}

// fakeClock is an injected clock whose Sleep advances time at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return ctx.Err()
}

// TestSourceRealtimeDropsOldest plays a file in real time on a fake clock
// with nobody reading: the capture never blocks, keeps the newest frames
// and counts the others as dropped. The pacing waits add up to the time
// stamp of the last frame.
func TestSourceRealtimeDropsOldest(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s, err := Open(Config{Device: makeClip(t, "clip.mp4"), Realtime: true, QueueFrames: 4, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.finished // the capture ended on its own: it never waited for a reader
	if st := s.Stats(); st != (Stats{Frames: clipFrames, Dropped: clipFrames - 4}) {
		t.Fatalf("Stats() = %+v, want %d frames, %d dropped", st, clipFrames, clipFrames-4)
	}
	for want := int64(clipFrames - 4); want < clipFrames; want++ {
		f, err := s.Read(context.Background())
		if err != nil || f.Index != want {
			t.Fatalf("Read() = frame %d, %v; want frame %d", f.Index, err, want)
		}
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read() at the end = %v, want io.EOF", err)
	}
	var total time.Duration
	for _, d := range clock.sleeps {
		total += d
	}
	if last := time.Duration(clipFrames-1) * time.Second / clipFPS; absDur(total-last) > time.Millisecond || len(clock.sleeps) != clipFrames-1 {
		t.Fatalf("%d pacing waits totalling %v, want %d totalling %v", len(clock.sleeps), total, clipFrames-1, last)
	}
}

// TestSourceRealtimeEpoch paces from an epoch one second in the past: the
// frames of that second are due at once, only the later ones wait.
func TestSourceRealtimeEpoch(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s, err := Open(Config{Device: makeClip(t, "clip.mp4"), Realtime: true, Epoch: clock.now.Add(-time.Second),
		QueueFrames: clipFrames, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.finished
	var total time.Duration
	for _, d := range clock.sleeps {
		total += d
	}
	late := time.Duration(clipFrames-1)*time.Second/clipFPS - time.Second
	if due := clipFrames - clipFPS - 1; absDur(total-late) > time.Millisecond || len(clock.sleeps) != due {
		t.Fatalf("%d pacing waits totalling %v, want %d totalling %v", len(clock.sleeps), total, due, late)
	}
}

// TestSourceCloseEarly closes a paced source in the middle of a wait.
func TestSourceCloseEarly(t *testing.T) {
	waiting := make(chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		close(waiting)
		<-ctx.Done()
		return ctx.Err()
	}
	s, err := Open(Config{Device: makeClip(t, "clip.avi", "-c:v", "mjpeg"), Realtime: true, Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	<-waiting
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if f, err := s.Read(context.Background()); err != nil || f.Index != 0 {
		t.Fatalf("Read() after Close = frame %d, %v; want the queued frame 0", f.Index, err)
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read() after Close = %v, want io.EOF", err)
	}
}

// BenchmarkFrame measures the per-frame work after decoding: resize a
// 640x480 BGR frame to 224x168 and copy it into Go memory, and the same with
// a grey conversion.
func BenchmarkFrame(b *testing.B) {
	for _, format := range []PixelFormat{BGR, Grey} {
		b.Run(format.String(), func(b *testing.B) {
			g := &grabber{cfg: Config{Width: 224, Format: format}, kind: kindDevice, fps: 30}
			g.raw = gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
			g.sized, g.conv = gocv.NewMat(), gocv.NewMat()
			defer g.close()
			gocv.Rectangle(&g.raw, image.Rect(100, 100, 300, 200), color.RGBA{R: 255, G: 255, B: 255, A: 255}, -1)
			b.SetBytes(640 * 480 * 3)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := g.frame(int64(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

func meanAbsDiff(a, b []byte) float64 {
	var sum int
	for i := range a {
		sum += max(int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return float64(sum) / float64(len(a))
}
