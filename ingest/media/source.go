package media

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/ctxtime"
)

// Default values used for the zero fields of a [Config].
const (
	// DefaultSampleRate is the default output sample rate in Hz.
	DefaultSampleRate = 16000
	// DefaultChunkDuration is the default length of a chunk: 20 ms, the
	// frame of real-time speech codecs (Opus, WebRTC), so that a window
	// closing mid-chunk waits at most 20 ms for the rest of its audio.
	DefaultChunkDuration = 20 * time.Millisecond
	// DefaultFFmpeg is the ffmpeg binary looked up on PATH by default.
	DefaultFFmpeg = "ffmpeg"
)

// Config configures a [Source]. The zero value of a field selects its
// documented default; [Config.Validate] checks the fields and [Open] calls it.
type Config struct {
	// Path is the media file to read. Required.
	Path string
	// SampleRate is the output sample rate in Hz; DefaultSampleRate (16000)
	// when zero.
	SampleRate int
	// ChunkFrames is the number of frames per chunk (the last chunk may be
	// shorter); DefaultChunkDuration (20 ms) of frames when zero.
	ChunkFrames int
	// Channels is 0 or 1 to average the file's channels to mono, or 2 to
	// keep its first two channels, interleaved in each chunk (ffmpeg
	// decodes the file; a mono file's channel is channel 0, and channel 1
	// silence).
	Channels int
	// Realtime paces the chunks in real time: Read returns a chunk once
	// the time since Epoch reaches the chunk's end.
	Realtime bool
	// Epoch is the wall time at which Realtime playback starts, so that
	// sources of one stream play in step; the zero time means the first
	// Read.
	Epoch time.Time
	// FFmpeg is the ffmpeg binary, a path or a name looked up on PATH;
	// DefaultFFmpeg when empty.
	FFmpeg string
	// Now and Sleep are the clock used by Realtime: time.Now and a timer
	// that stops early when ctx is done, when nil.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports the first invalid field of c, or nil.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("media: Path is required")
	case c.SampleRate < 0 || c.SampleRate > 1_000_000:
		return fmt.Errorf("media: SampleRate %d Hz is out of range", c.SampleRate)
	case c.ChunkFrames < 0:
		return fmt.Errorf("media: ChunkFrames %d is negative", c.ChunkFrames)
	case c.Channels < 0 || c.Channels > 2:
		return fmt.Errorf("media: Channels %d: want 0, 1 or 2", c.Channels)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.SampleRate == 0 {
		c.SampleRate = DefaultSampleRate
	}
	if c.ChunkFrames == 0 {
		c.ChunkFrames = max(1, int(float64(c.SampleRate)*DefaultChunkDuration.Seconds()))
	}
	if c.FFmpeg == "" {
		c.FFmpeg = DefaultFFmpeg
	}
	c.Channels = max(c.Channels, 1)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = ctxtime.Sleep
	}
	return c
}

// Chunk is a run of consecutive frames, mono unless Config.Channels is 2.
type Chunk struct {
	// Offset is the number of frames before this chunk.
	Offset int64
	// Start is the event time of the first frame: Offset / SampleRate.
	Start time.Duration
	// SampleRate is the sample rate in Hz.
	SampleRate int
	// Channels is the number of samples per frame: 1, or 2 when
	// Config.Channels is 2.
	Channels int
	// Samples holds the frames in [-1, 1] (a float source may exceed it),
	// channels interleaved. The slice is owned by the receiver.
	Samples []float32
}

// Duration returns the length of c.
func (c Chunk) Duration() time.Duration {
	return frameTime(int64(len(c.Samples)/max(c.Channels, 1)), c.SampleRate)
}

// frameTime returns the time of n frames at rate Hz, rounded to the
// nanosecond.
func frameTime(n int64, rate int) time.Duration {
	return time.Duration(math.Round(float64(n) * float64(time.Second) / float64(rate)))
}

// decoder produces float32 frames at the configured rate, mono or with the
// configured channels interleaved.
type decoder interface {
	// read fills p with samples and returns how many, or io.EOF at the end.
	read(p []float32) (int, error)
	close() error
}

// Source reads the audio of a media file. It is not safe for concurrent use;
// the caller that opened it calls Close once.
type Source struct {
	cfg     Config
	dec     decoder
	direct  bool
	offset  int64     // frames decoded so far
	pending *Chunk    // decoded, not yet returned (pacing was cancelled)
	start   time.Time // clock at the first paced Read
	err     error     // sticky: io.EOF or the decoding error
}

// Open validates cfg and starts decoding its file: directly for a WAV file at
// the configured rate read as mono, through ffmpeg otherwise. A missing file, a missing
// ffmpeg binary, or a file ffmpeg cannot read fails here with a message
// saying which. The caller must Close the returned Source.
func Open(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f, err := os.Open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if cfg.Channels == 1 {
		wav, err := newWAVDecoder(f, cfg.SampleRate)
		if err == nil {
			return &Source{cfg: cfg, dec: wav, direct: true}, nil
		}
	}
	_ = f.Close() // only read from; ffmpeg opens the file itself
	dec, err := startFFmpeg(cfg)
	if err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, dec: dec}, nil
}

// Direct reports whether the file is decoded without ffmpeg (a WAV file at
// the configured rate, read as mono).
func (s *Source) Direct() bool { return s.direct }

// Read returns the next chunk of ChunkFrames frames (the last one may be
// shorter), paced in real time when configured. It returns io.EOF after the
// last chunk, ctx.Err() when ctx is done while pacing (the chunk is kept for
// the next Read), and a decoding error (an unreadable file, no audio
// stream, ffmpeg's message) after the frames decoded before it; errors are
// sticky.
func (s *Source) Read(ctx context.Context) (Chunk, error) {
	if s.pending == nil {
		c, err := s.decodeChunk()
		if err != nil {
			return Chunk{}, err
		}
		s.pending = &c
	}
	if s.cfg.Realtime {
		if s.start.IsZero() {
			s.start = s.cfg.Epoch
		}
		if s.start.IsZero() {
			s.start = s.cfg.Now()
		}
		end := s.start.Add(s.pending.Start + s.pending.Duration())
		if d := end.Sub(s.cfg.Now()); d > 0 {
			if err := s.cfg.Sleep(ctx, d); err != nil {
				return Chunk{}, err
			}
		}
	}
	c := *s.pending
	s.pending = nil
	return c, nil
}

// decodeChunk decodes the next chunk, or returns the sticky error.
func (s *Source) decodeChunk() (Chunk, error) {
	if s.err != nil {
		return Chunk{}, s.err
	}
	ch := s.cfg.Channels
	buf := make([]float32, s.cfg.ChunkFrames*ch)
	n := 0
	for n < len(buf) && s.err == nil {
		var m int
		m, s.err = s.dec.read(buf[n:])
		n += m
	}
	n -= n % ch // ffmpeg writes whole frames; a cut one is dropped
	if n == 0 {
		return Chunk{}, s.err
	}
	c := Chunk{Offset: s.offset, Start: frameTime(s.offset, s.cfg.SampleRate), SampleRate: s.cfg.SampleRate, Channels: ch, Samples: buf[:n]}
	s.offset += int64(n / ch)
	return c, nil
}

// Close stops decoding (it kills ffmpeg if it is still running) and releases
// the file. It returns nil after a complete read.
func (s *Source) Close() error { return s.dec.close() }
