package video

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/internal/ctxtime"
)

// Default values used for the zero fields of a [Config].
const (
	// DefaultQueueFrames is the default capacity of the frame queue.
	DefaultQueueFrames = 8
	// DefaultFPS is the frame rate assumed when neither the configuration
	// nor the stream gives one.
	DefaultFPS = 30.0
	// DefaultMaxReadFailures is the default number of consecutive failed
	// reads after which a capture gives up.
	DefaultMaxReadFailures = 100
)

// ErrNotBuilt is returned by [Open] and [ReadFile] when the package was built
// without OpenCV (tag nocv or CGO_ENABLED=0).
var ErrNotBuilt = errors.New("video: built without OpenCV (tag nocv or CGO_ENABLED=0)")

// ErrNoDevice is wrapped by the error [Open] returns when a device index
// cannot be opened (no camera, or no permission).
var ErrNoDevice = errors.New("video: no capture device")

// ErrDeviceLost is wrapped by the error [Source.Read] returns after a device
// or URL failed [Config.MaxReadFailures] consecutive reads.
var ErrDeviceLost = errors.New("video: capture stopped delivering frames")

// PixelFormat is the layout of [Frame.Pix].
type PixelFormat int

const (
	// BGR is 3 bytes per pixel in blue, green, red order (OpenCV's order).
	BGR PixelFormat = iota
	// Grey is 1 byte per pixel of luma (OpenCV's BGR to grey conversion).
	Grey
)

// Channels returns the number of bytes per pixel: 3 for BGR, 1 for Grey.
func (p PixelFormat) Channels() int {
	if p == Grey {
		return 1
	}
	return 3
}

// String returns "bgr" or "grey".
func (p PixelFormat) String() string {
	switch p {
	case BGR:
		return "bgr"
	case Grey:
		return "grey"
	}
	return "PixelFormat(" + strconv.Itoa(int(p)) + ")"
}

// Config configures a video source. The zero value of a field selects its
// documented default; [Config.Validate] checks the fields and [Open] calls it.
type Config struct {
	// Device is what to open: a device index ("0" is the first camera), a
	// file path, or a URL (anything containing "://", such as
	// rtsp://host/stream). Required.
	Device string
	// FPS is the frame rate in frames per second used for the time stamps
	// of a device or URL, and of a file whose container reports none. For a
	// device it is also requested from the driver. Zero uses the rate the
	// stream reports, or DefaultFPS (30) when it reports none.
	FPS float64
	// Width and Height are the size of the delivered frames in pixels.
	// Both zero delivers the native size; one zero keeps the aspect ratio.
	// Frames are resized with area interpolation.
	Width, Height int
	// Format is the pixel layout of the delivered frames; BGR by default.
	Format PixelFormat
	// Realtime paces file playback at the file's frame rate (a frame is
	// delivered when the wall clock since the start reaches its time
	// stamp) and makes the file a live source that drops the oldest frame
	// when the queue is full. Devices and URLs are always live.
	Realtime bool
	// Epoch is the wall time at which Realtime playback starts, so that
	// sources of one stream play in step; the zero time means when the
	// capture starts.
	Epoch time.Time
	// QueueFrames is the capacity of the frame queue between the capture
	// goroutine and [Source.Read]; DefaultQueueFrames (8) when zero.
	QueueFrames int
	// MaxReadFailures is the number of consecutive failed reads after
	// which a device or URL capture ends with ErrDeviceLost, and a file
	// capture ends as if the file ended there (a truncated file);
	// DefaultMaxReadFailures (100) when zero. Each failed read counts in
	// Stats.DecodeErrors. A file also ends at a failed read at its last
	// frame.
	MaxReadFailures int
	// Now and Sleep are the clock used to pace Realtime playback: time.Now
	// and a timer that stops early when ctx is done, when nil. Tests inject
	// a fake clock here.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Keep, when set, selects the frames queued by their Index: the
	// others are decoded (a decoder reads every frame) but neither paced
	// nor queued nor counted, so the queue holds QueueFrames kept frames.
	// Nil keeps every frame.
	Keep func(index int64) bool
	// CPU, when set, receives the capture goroutine's CPU time per frame
	// read (reading, decoding, resizing) as cputime.Decode: bench
	// pipeline's cost split. Nil measures nothing.
	CPU *cputime.Meter
}

// Validate reports the first invalid field of c, or nil.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.Device) == "":
		return errors.New("video: Device is required (a device index, a file or a URL)")
	case c.FPS < 0:
		return fmt.Errorf("video: FPS %g is negative", c.FPS)
	case c.Width < 0 || c.Height < 0:
		return fmt.Errorf("video: frame size %dx%d is negative", c.Width, c.Height)
	case c.Format != BGR && c.Format != Grey:
		return fmt.Errorf("video: unknown pixel format %v", c.Format)
	case c.QueueFrames < 0:
		return fmt.Errorf("video: QueueFrames %d is negative", c.QueueFrames)
	case c.MaxReadFailures < 0:
		return fmt.Errorf("video: MaxReadFailures %d is negative", c.MaxReadFailures)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.QueueFrames == 0 {
		c.QueueFrames = DefaultQueueFrames
	}
	if c.MaxReadFailures == 0 {
		c.MaxReadFailures = DefaultMaxReadFailures
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = ctxtime.Sleep
	}
	return c
}

// kind tells what Device names.
type kind int

const (
	kindFile kind = iota
	kindDevice
	kindURL
)

// deviceKind classifies c.Device and returns the device index for a device.
func (c Config) deviceKind() (kind, int) {
	if n, err := strconv.Atoi(strings.TrimSpace(c.Device)); err == nil {
		return kindDevice, n
	}
	if strings.Contains(c.Device, "://") {
		return kindURL, 0
	}
	return kindFile, 0
}

// Frame is one decoded video frame. Its pixels are a Go-owned copy that the
// receiver may keep and modify.
type Frame struct {
	// Index is the 0-based position of the frame in the stream; frames
	// skipped because they failed to decode keep their index, so indices
	// may have gaps.
	Index int64
	// Time is the event time of the frame since the start of the stream:
	// the container's position for files, Index / FPS otherwise.
	Time time.Duration
	// Interval is the nominal time to the next frame: 1/fps of the
	// container for a file, 1/FPS otherwise.
	Interval time.Duration
	// Width and Height are the frame size in pixels.
	Width, Height int
	// Format is the pixel layout of Pix.
	Format PixelFormat
	// Pix holds Height rows of Width*Format.Channels() bytes, top row first.
	Pix []byte
}

// Stats counts what a [Source] did so far.
type Stats struct {
	// Frames is the number of frames decoded and queued.
	Frames int64
	// Dropped is the number of queued frames dropped (the oldest first)
	// because the reader fell behind a live capture.
	Dropped int64
	// DecodeErrors is the number of frames that failed to decode and were
	// skipped, plus failed reads from a device or URL.
	DecodeErrors int64
}

// outputSize returns the size of delivered frames for a native size of
// w x h pixels and a configured size cw x ch (zero keeps the native size, one
// zero keeps the aspect ratio, rounding to the nearest pixel, at least 1).
func outputSize(w, h, cw, ch int) (int, int) {
	switch {
	case cw == 0 && ch == 0:
		return w, h
	case ch == 0:
		return cw, max(1, (h*cw+w/2)/w)
	case cw == 0:
		return max(1, (w*ch+h/2)/h), ch
	}
	return cw, ch
}
