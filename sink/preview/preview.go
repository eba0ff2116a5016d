package preview

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cmc-stream/cmc-stream/internal/sse"
)

// The defaults and bounds of Config.
const (
	// DefaultWidth is the default largest thumbnail width in pixels.
	DefaultWidth = 320
	// MaxWidth bounds Config.Width, and so the size of a message (a
	// 1280-pixel JPEG at quality 95 is a few hundred KiB).
	MaxWidth = 1280
	// DefaultInterval is the default shortest time between two frames of
	// one stream: 4 frames per second.
	DefaultInterval = 250 * time.Millisecond
	// DefaultQuality is the default JPEG quality (1 to 100).
	DefaultQuality = 70
	// DefaultQueue is the default number of frames waiting for the encoder.
	DefaultQueue = 4
	// DefaultMaxClients is the default bound on concurrent preview clients.
	DefaultMaxClients = 16
	// DefaultKeepAlive is the default interval of SSE keep-alive comments.
	DefaultKeepAlive = 15 * time.Second
	// DefaultWriteTimeout is the default bound on one write to a client.
	DefaultWriteTimeout = 10 * time.Second
	// maxStreams bounds the streams whose last frame time is kept; past it
	// the times are forgotten (a stream may then send one frame early).
	maxStreams = 1024
)

// Config configures a Hub. A zero field means its default.
type Config struct {
	// Width is the largest thumbnail width in pixels; narrower frames keep
	// their size, wider ones are scaled down (box filter) keeping their
	// aspect ratio. Default DefaultWidth (320), at most MaxWidth.
	Width int
	// Interval is the shortest time between two frames of one stream.
	// Default DefaultInterval (250 ms).
	Interval time.Duration
	// Quality is the JPEG quality, 1 to 100. Default DefaultQuality (70).
	Quality int
	// Queue is the number of frames that may wait for the encoder; a frame
	// due while it is full is dropped and counted. Default DefaultQueue (4).
	Queue int
	// MaxClients bounds the concurrent SSE clients; more get 503. Default
	// DefaultMaxClients (16).
	MaxClients int
	// KeepAlive is the interval of SSE comment lines that keep an idle
	// connection open. Default DefaultKeepAlive (15 s).
	KeepAlive time.Duration
	// WriteTimeout bounds one write to a client; a client that stalls
	// longer is disconnected. Default DefaultWriteTimeout (10 s).
	WriteTimeout time.Duration
	// Now is the clock of Interval. Default time.Now.
	Now func() time.Time
	// Metrics, when set, gets the hub's metrics: cmc_preview_frames_total,
	// cmc_preview_frames_discarded_total{reason} and cmc_preview_clients.
	// Default: not registered.
	Metrics prometheus.Registerer
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	switch {
	case c.Width < 0 || c.Width > MaxWidth:
		return fmt.Errorf("preview: config: width %d must be in [0, %d]", c.Width, MaxWidth)
	case c.Quality < 0 || c.Quality > 100:
		return fmt.Errorf("preview: config: quality %d must be in [0, 100]", c.Quality)
	case c.Interval < 0 || c.KeepAlive < 0 || c.WriteTimeout < 0:
		return errors.New("preview: config: negative interval, keep-alive or write timeout")
	case c.Queue < 0 || c.MaxClients < 0:
		return errors.New("preview: config: negative queue or max clients")
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.Width = cmp.Or(c.Width, DefaultWidth)
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	c.Quality = cmp.Or(c.Quality, DefaultQuality)
	c.Queue = cmp.Or(c.Queue, DefaultQueue)
	c.MaxClients = cmp.Or(c.MaxClients, DefaultMaxClients)
	c.KeepAlive = cmp.Or(c.KeepAlive, DefaultKeepAlive)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Face is the box of a detected face, in fractions of the frame.
type Face struct {
	// X is the left edge as a fraction of the frame width, in [0, 1].
	X float32 `json:"x"`
	// Y is the top edge as a fraction of the frame height, in [0, 1].
	Y float32 `json:"y"`
	// W is the width as a fraction of the frame width.
	W float32 `json:"w"`
	// H is the height as a fraction of the frame height.
	H float32 `json:"h"`
	// Score is the detector's confidence in (0, 1], 0 when the detector
	// gives none.
	Score float32 `json:"score"`
	// Scored reports whether this is the face whose expression was scored
	// (Frame.Expression).
	Scored bool `json:"scored"`
}

// Prob is one class probability.
type Prob struct {
	// Label names the class, such as "happy".
	Label string `json:"label"`
	// P is its probability in [0, 1].
	P float32 `json:"p"`
}

// Frame is one video frame offered to the preview.
type Frame struct {
	// Stream is the stream id.
	Stream string
	// Time is the frame's stream time.
	Time time.Duration
	// Pix holds Height rows of Width pixels of 3 bytes in BGR order
	// (OpenCV's layout); Publish reads it and does not keep it.
	Pix []byte
	// Width and Height are the frame size in pixels.
	Width, Height int
	// Faces are the faces detected in the frame; Publish copies them.
	Faces []Face
	// Expression are the expression probabilities of the face that was
	// scored; nil without a face.
	Expression []Prob
}

// Message is the JSON data of one SSE event of type "preview".
type Message struct {
	// Stream is the stream id.
	Stream string `json:"stream"`
	// TimeMS is the frame's stream time in milliseconds.
	TimeMS float64 `json:"time_ms"`
	// Width and Height are the thumbnail's size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// JPEG is the thumbnail, base64 in JSON.
	JPEG []byte `json:"jpeg"`
	// Faces are the detected faces' boxes, in fractions of the frame (and
	// so of the thumbnail); empty without a face.
	Faces []Face `json:"faces"`
	// Expression are the scored face's expression probabilities; empty
	// without a face.
	Expression []Prob `json:"expression"`
}

// Hub downscales and encodes the offered frames and sends them to the
// connected SSE clients. It is safe for concurrent use; Close stops it.
type Hub struct {
	cfg  Config
	jobs chan job
	life context.Context // done when the hub closes
	end  context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	clients map[*client]struct{}
	last    map[string]time.Time // by stream, when its last frame was due
	closed  bool

	frames    prometheus.Counter
	discarded *prometheus.CounterVec
	connected prometheus.Gauge
}

// job is a frame's thumbnail waiting for the encoder.
type job struct {
	msg   Message
	thumb *image.RGBA
}

// New validates cfg and starts a Hub's encoder.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg: cfg, jobs: make(chan job, cfg.Queue),
		clients: make(map[*client]struct{}), last: make(map[string]time.Time),
		frames: prometheus.NewCounter(prometheus.CounterOpts{Name: "cmc_preview_frames_total",
			Help: "Preview frames encoded and sent to the connected dashboard clients."}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cmc_preview_frames_discarded_total",
			Help: "Preview frames not sent: reason encoder (the encoder was busy) or client (a newer frame replaced one a client had not taken)."},
			[]string{"reason"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cmc_preview_clients", Help: "Connected preview clients."}),
	}
	h.discarded.WithLabelValues(reasonEncoder)
	h.discarded.WithLabelValues(reasonClient)
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{h.frames, h.discarded, h.connected} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("preview: %w", err)
			}
		}
	}
	h.life, h.end = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.encode()
	return h, nil
}

// The reasons of cmc_preview_frames_discarded_total.
const (
	reasonEncoder = "encoder"
	reasonClient  = "client"
)

// Due reports whether a frame of stream should be published now: a client
// is connected and the stream's last due frame is at least Config.Interval
// old. A true answer counts as the stream's frame: call Publish next.
func (h *Hub) Due(stream string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) == 0 {
		return false
	}
	now := h.cfg.Now()
	if t, ok := h.last[stream]; ok && now.Sub(t) < h.cfg.Interval {
		return false
	}
	if len(h.last) >= maxStreams {
		clear(h.last)
	}
	h.last[stream] = now
	return true
}

// Publish downscales f and queues it for the encoder, or drops it (counted)
// when Config.Queue frames already wait; it never blocks. It returns an
// error, publishing nothing, when f.Pix does not hold Width*Height*3 bytes.
func (h *Hub) Publish(f Frame) error {
	if f.Width <= 0 || f.Height <= 0 || len(f.Pix) != f.Width*f.Height*3 {
		return fmt.Errorf("preview: stream %q: %d bytes for a %dx%d frame", f.Stream, len(f.Pix), f.Width, f.Height)
	}
	thumb := thumbnail(f.Pix, f.Width, f.Height, h.cfg.Width)
	b := thumb.Bounds()
	msg := Message{Stream: f.Stream, TimeMS: float64(f.Time) / float64(time.Millisecond), Width: b.Dx(), Height: b.Dy(),
		Faces: append([]Face{}, f.Faces...), Expression: append([]Prob{}, f.Expression...)}
	select {
	case h.jobs <- job{msg: msg, thumb: thumb}:
	default:
		h.discarded.WithLabelValues(reasonEncoder).Inc()
	}
	return nil
}

// encode encodes the queued frames and hands them to the clients, until
// Close.
func (h *Hub) encode() {
	defer h.wg.Done()
	var buf bytes.Buffer
	for {
		select {
		case <-h.life.Done():
			return
		case j := <-h.jobs:
			buf.Reset()
			if err := jpeg.Encode(&buf, j.thumb, &jpeg.Options{Quality: h.cfg.Quality}); err != nil {
				// Encoding into memory fails only for an empty image, which
				// thumbnail never makes.
				h.discarded.WithLabelValues(reasonEncoder).Inc()
				continue
			}
			j.msg.JPEG = buf.Bytes()
			data, err := json.Marshal(&j.msg)
			if err != nil {
				h.discarded.WithLabelValues(reasonEncoder).Inc()
				continue
			}
			// json.Marshal writes no line break, so the data is one field.
			ev := make([]byte, 0, len(data)+32)
			ev = append(ev, "event: preview\ndata: "...)
			ev = append(append(ev, data...), "\n\n"...)
			h.broadcast(j.msg.Stream, ev)
		}
	}
}

// broadcast gives ev, the latest frame of stream, to every client.
func (h *Hub) broadcast(stream string, ev []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if c.put(stream, ev) {
			h.discarded.WithLabelValues(reasonClient).Inc()
		}
	}
	h.frames.Inc()
}

// Close disconnects the clients and stops the encoder; frames waiting are
// dropped. Due reports false from then on.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.end()
	h.mu.Unlock()
	h.wg.Wait()
}

// ServeHTTP streams the preview frames to one client as Server-Sent
// Events until it disconnects, a write fails or times out, or the hub
// closes. It first sends the comment ": connected". Mount it behind the
// Host check and token of the HTTP sink (sink.HTTPConfig.Preview).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.subscribe()
	if c == nil {
		http.Error(w, "preview: too many clients or closing", http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(c)
	out := sse.Start(w, h.cfg.WriteTimeout, nil)
	if !out.Send([]byte(": connected\n\n")) {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(h.life, cancel)()
	var buf []byte
	out.Serve(ctx, h.cfg.KeepAlive, c.notify, func() []byte {
		buf = c.take(buf[:0])
		return buf
	}, nil)
}

func (h *Hub) subscribe() *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= h.cfg.MaxClients {
		return nil
	}
	c := &client{notify: make(chan struct{}, 1), pending: make(map[string][]byte)}
	h.clients[c] = struct{}{}
	h.connected.Set(float64(len(h.clients)))
	return c
}

func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	h.connected.Set(float64(len(h.clients)))
}

// client holds the latest frame of each stream not yet sent to one SSE
// connection: at most one frame per stream, however slow the connection.
type client struct {
	notify chan struct{} // capacity 1: frames are waiting

	mu      sync.Mutex
	pending map[string][]byte // by stream, the encoded SSE event
	order   []string          // the streams of pending, first put first
}

// put makes ev the stream's pending frame and reports whether it replaced
// one the client had not taken.
func (c *client) put(stream string, ev []byte) (replaced bool) {
	c.mu.Lock()
	if _, replaced = c.pending[stream]; !replaced {
		c.order = append(c.order, stream)
	}
	c.pending[stream] = ev
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return replaced
}

// take appends the pending frames to dst, oldest stream first, and empties
// the queue.
func (c *client) take(dst []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.order {
		dst = append(dst, c.pending[s]...)
	}
	clear(c.pending)
	c.order = slices.Delete(c.order, 0, len(c.order))
	return dst
}

// thumbnail returns the BGR frame pix of w x h pixels scaled down to at
// most maxW pixels wide, each thumbnail pixel the mean of the frame pixels
// it covers (a box filter).
func thumbnail(pix []byte, w, h, maxW int) *image.RGBA {
	tw := min(w, maxW)
	th := max((h*tw+w/2)/w, 1)
	img := image.NewRGBA(image.Rect(0, 0, tw, th))
	for ty := range th {
		y0 := ty * h / th
		y1 := max((ty+1)*h/th, y0+1)
		for tx := range tw {
			x0 := tx * w / tw
			x1 := max((tx+1)*w/tw, x0+1)
			var b, g, r, n int
			for y := y0; y < y1; y++ {
				row := pix[(y*w+x0)*3 : (y*w+x1)*3]
				for i := 0; i < len(row); i += 3 {
					b += int(row[i])
					g += int(row[i+1])
					r += int(row[i+2])
				}
				n += x1 - x0
			}
			o := img.PixOffset(tx, ty)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = uint8((r+n/2)/n), uint8((g+n/2)/n), uint8((b+n/2)/n), 255
		}
	}
	return img
}
