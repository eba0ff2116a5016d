//go:build cgo && !nocv

package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/cmc-stream/cmc-stream/internal/cputime"
)

// Open validates cfg, opens the capture and starts the goroutine that reads
// it into the queue. Opening a device index that does not exist fails with an
// error wrapping ErrNoDevice; a missing or unreadable file fails with its
// path in the message. The caller must Close the returned Source.
func Open(cfg Config) (*Source, error) {
	g, err := newGrabber(cfg)
	if err != nil {
		return nil, err
	}
	cfg = g.cfg
	ctx, cancel := context.WithCancel(context.Background())
	s := newSource(cfg.QueueFrames, g.kind != kindFile || cfg.Realtime, cancel)
	go s.run(ctx, g)
	return s, nil
}

// run is the capture goroutine: the only one that touches g. It releases
// g's handles before it ends the stream, so Close returns after them.
func (s *Source) run(ctx context.Context, g *grabber) {
	err := s.capture(ctx, g)
	g.close()
	s.finish(err)
}

// capture reads frames into the queue until the end of the file, a lost
// device (the error it returns) or ctx is done.
func (s *Source) capture(ctx context.Context, g *grabber) error {
	start := g.cfg.Epoch
	if start.IsZero() {
		start = g.cfg.Now()
	}
	for ctx.Err() == nil {
		sp := g.cfg.CPU.Begin()
		f, err := g.next(&s.decodeErrors)
		sp.Lap(cputime.Decode)
		sp.End()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if g.cfg.Keep != nil && !g.cfg.Keep(f.Index) {
			continue
		}
		if g.cfg.Realtime && g.kind == kindFile {
			if d := start.Add(f.Time).Sub(g.cfg.Now()); d > 0 {
				if g.cfg.Sleep(ctx, d) != nil {
					return nil
				}
			}
		}
		if !s.push(f, ctx.Done()) {
			return nil
		}
	}
	return nil
}

// ReadFile decodes every frame of the video file (or URL) path, resized and converted
// as cfg says (cfg.Device, cfg.Realtime and cfg.QueueFrames are ignored), and
// calls fn with each frame in order, in the calling goroutine, as fast as the
// file decodes. It stops at the end of the file (returning nil), at the first
// error fn returns (returning it), or when ctx is done (returning ctx.Err()).
// Frames that fail to decode are skipped; their number is returned in the
// Stats with the number of frames decoded.
func ReadFile(ctx context.Context, path string, cfg Config, fn func(Frame) error) (st Stats, err error) {
	cfg.Device = path
	cfg.Realtime = false
	if k, _ := cfg.deviceKind(); k == kindDevice {
		return st, fmt.Errorf("video: ReadFile reads files, and %q is a device index (write ./%s for a file of that name)", path, path)
	}
	g, err := newGrabber(cfg)
	if err != nil {
		return st, err
	}
	defer g.close()
	var decodeErrors atomic.Int64
	defer func() { st.DecodeErrors = decodeErrors.Load() }()
	for ctx.Err() == nil {
		f, err := g.next(&decodeErrors)
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		st.Frames++
		if err := fn(f); err != nil {
			return st, err
		}
	}
	return st, ctx.Err()
}

// grabber owns the OpenCV capture and the Mats reused for every frame. It is
// not safe for concurrent use.
type grabber struct {
	cfg  Config
	kind kind
	cap  *gocv.VideoCapture
	// raw receives the decoded frame, sized the resized one, conv the grey
	// one: each is allocated once and reused for every frame.
	raw, sized, conv gocv.Mat
	fps              float64
	interval         time.Duration // nominal time between frames
	index            int64         // index of the next frame
	lastTime         time.Duration
	failures         int // consecutive failed reads
}

// newGrabber validates cfg and opens its device, file or URL.
func newGrabber(cfg Config) (*grabber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g := &grabber{cfg: cfg}
	var index int
	g.kind, index = cfg.deviceKind()
	var err error
	switch g.kind {
	case kindDevice:
		g.cap, err = gocv.VideoCaptureDevice(index)
		if err != nil || !g.cap.IsOpened() {
			g.closeCapture()
			return nil, fmt.Errorf("%w %d (OpenCV could not open it: no camera or no permission)", ErrNoDevice, index)
		}
		if cfg.FPS > 0 {
			g.cap.Set(gocv.VideoCaptureFPS, cfg.FPS)
		}
	default:
		if g.kind == kindFile {
			if _, err := os.Stat(cfg.Device); err != nil {
				return nil, fmt.Errorf("video: %w", err)
			}
		}
		g.cap, err = gocv.VideoCaptureFile(cfg.Device)
		if err != nil || !g.cap.IsOpened() {
			g.closeCapture()
			return nil, fmt.Errorf("video: cannot open %q (unsupported container or codec, or unreachable URL)", cfg.Device)
		}
	}
	g.fps = cfg.FPS
	if g.fps == 0 {
		g.fps = g.cap.Get(gocv.VideoCaptureFPS)
	}
	if !validFPS(g.fps) {
		g.fps = DefaultFPS
	}
	// A file's frames are stamped with their container position, so their
	// spacing is the container's rate whatever the configured FPS.
	nominal := g.fps
	if fps := g.cap.Get(gocv.VideoCaptureFPS); g.kind == kindFile && validFPS(fps) {
		nominal = fps
	}
	g.interval = time.Duration(math.Round(float64(time.Second) / nominal))
	g.raw, g.sized, g.conv = gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	return g, nil
}

// closeCapture releases the capture handle, also after a failed open.
func (g *grabber) closeCapture() {
	if g.cap != nil {
		_ = g.cap.Close() // gocv's Close always returns nil
		g.cap = nil
	}
}

// close releases every OpenCV handle of g.
func (g *grabber) close() {
	g.closeCapture()
	for _, m := range []*gocv.Mat{&g.raw, &g.sized, &g.conv} {
		_ = m.Close() // gocv's Close always returns nil
	}
}

// next decodes the next good frame. Frames that fail to decode are counted in
// decodeErrors and skipped: a failed read counts as a corrupt frame while a
// file's position is before its last frame. It returns io.EOF at the end of a
// file (or after MaxReadFailures consecutive failed reads from a file, as
// from a truncated one), and an error wrapping ErrDeviceLost after
// MaxReadFailures consecutive failed reads from a device or URL.
func (g *grabber) next(decodeErrors *atomic.Int64) (Frame, error) {
	for {
		index := g.index
		if !g.cap.Read(&g.raw) {
			if g.kind == kindFile && !g.beforeEnd() {
				return Frame{}, io.EOF
			}
			g.index++
			decodeErrors.Add(1)
			if g.failures++; g.failures >= g.cfg.MaxReadFailures {
				if g.kind == kindFile {
					return Frame{}, io.EOF // a truncated file
				}
				return Frame{}, fmt.Errorf("%w: %d consecutive failed reads from %q", ErrDeviceLost, g.failures, g.cfg.Device)
			}
			continue
		}
		g.failures = 0
		g.index++
		if g.raw.Empty() || g.raw.Type() != gocv.MatTypeCV8UC3 {
			decodeErrors.Add(1)
			continue
		}
		f, err := g.frame(index)
		if err != nil {
			decodeErrors.Add(1)
			continue
		}
		return f, nil
	}
}

// beforeEnd reports whether a file's position is before its last frame, so
// that a failed read is a corrupt frame rather than the end of the file.
func (g *grabber) beforeEnd() bool {
	count := g.cap.Get(gocv.VideoCaptureFrameCount)
	return count > 0 && float64(g.index+1) < count
}

// frame converts the frame in g.raw, with the given index, into a Go-owned
// Frame. It fails only if OpenCV returns a non-continuous Mat.
func (g *grabber) frame(index int64) (Frame, error) {
	src := &g.raw
	w, h := outputSize(g.raw.Cols(), g.raw.Rows(), g.cfg.Width, g.cfg.Height)
	if w != g.raw.Cols() || h != g.raw.Rows() {
		gocv.Resize(*src, &g.sized, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		src = &g.sized
	}
	if g.cfg.Format == Grey {
		gocv.CvtColor(*src, &g.conv, gocv.ColorBGRToGray)
		src = &g.conv
	}
	pix, err := copyPixels(src)
	if err != nil {
		return Frame{}, err
	}
	return Frame{
		Index:    index,
		Time:     g.timestamp(index),
		Interval: g.interval,
		Width:    w,
		Height:   h,
		Format:   g.cfg.Format,
		Pix:      pix,
	}, nil
}

// validFPS reports whether fps is a usable frame rate: not NaN, 0 or a
// bogus container value.
func validFPS(fps float64) bool { return fps > 0 && fps < 10000 }

// timestamp returns the event time of the frame just read: the container's
// position for a file when it moves forward, index / fps otherwise.
func (g *grabber) timestamp(index int64) time.Duration {
	t := time.Duration(math.Round(float64(index) / g.fps * float64(time.Second)))
	if g.kind == kindFile {
		pos := g.cap.Get(gocv.VideoCapturePosMsec)
		if p := time.Duration(math.Round(pos * float64(time.Millisecond))); pos >= 0 && (index == 0 || p > g.lastTime) {
			t = p
		}
	}
	g.lastTime = t
	return t
}

// copyPixels copies the pixels of the continuous Mat m into a new Go slice.
func copyPixels(m *gocv.Mat) ([]byte, error) {
	data, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), data...), nil
}
