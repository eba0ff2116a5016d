package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// ErrNoAudio is wrapped by the error Open returns for a file without an
// audio stream (a silent video).
var ErrNoAudio = errors.New("media: no audio stream")

// ffmpegDecoder reads the f32le output of an ffmpeg process.
type ffmpegDecoder struct {
	path   string
	cmd    *exec.Cmd
	out    io.ReadCloser
	r      *bufio.Reader
	stderr tail
	sample [4]byte

	waitOnce sync.Once
	waitErr  error // ffmpeg's exit status, with its message
}

// startFFmpeg starts ffmpeg decoding cfg.Path to float32 at cfg.SampleRate,
// with cfg.Channels channels interleaved, on its standard output.
func startFFmpeg(cfg Config) (*ffmpegDecoder, error) {
	bin, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("media: ffmpeg binary %q not found (make setup installs it): %w", cfg.FFmpeg, err)
	}
	d := &ffmpegDecoder{path: cfg.Path}
	// Stereo: the file's first two channels as they are (a mono file's
	// channel is channel 0, and channel 1 silence), not ffmpeg's up- or
	// downmix, which scales them.
	channels := []string{"-ac", "1"}
	if cfg.Channels == 2 {
		channels = []string{"-af", "pan=stereo|c0=c0|c1=c1"}
	}
	args := append([]string{"-nostdin", "-v", "error", "-i", cfg.Path, "-vn", "-f", "f32le"}, channels...)
	d.cmd = exec.Command(bin, append(args, "-ar", strconv.Itoa(cfg.SampleRate), "-")...)
	d.cmd.Stderr = &d.stderr
	if d.out, err = d.cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("media: ffmpeg: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("media: starting ffmpeg: %w", err)
	}
	d.r = bufio.NewReaderSize(d.out, 64<<10)
	// ffmpeg reports a file it cannot read before writing anything: wait
	// for the first byte so that Open fails with its message.
	if _, err := d.r.Peek(1); err != nil {
		if werr := d.wait(); werr != nil {
			return nil, werr
		}
		// ffmpeg succeeded without output: an empty audio track; read
		// reports io.EOF.
	}
	return d, nil
}

// wait waits for ffmpeg to exit and returns its failure with its message.
func (d *ffmpegDecoder) wait() error {
	d.waitOnce.Do(func() {
		if err := d.cmd.Wait(); err != nil {
			msg := d.stderr.String()
			switch {
			case strings.Contains(msg, "does not contain any stream"):
				d.waitErr = fmt.Errorf("%w: %s", ErrNoAudio, d.path)
				return
			case msg == "":
				msg = err.Error()
			}
			d.waitErr = fmt.Errorf("media: ffmpeg cannot decode the audio of %s: %s", d.path, msg)
		}
	})
	return d.waitErr
}

// read decodes frames into p; at the end of ffmpeg's output it returns
// io.EOF, or ffmpeg's error if it failed.
func (d *ffmpegDecoder) read(p []float32) (int, error) {
	for i := range p {
		if _, err := io.ReadFull(d.r, d.sample[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if werr := d.wait(); werr != nil {
					return i, werr
				}
				return i, io.EOF
			}
			return i, fmt.Errorf("media: reading ffmpeg's output: %w", err)
		}
		p[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.sample[:]))
	}
	return len(p), nil
}

// close stops ffmpeg if it is still running and reaps it. Killing it is not
// an error; an ffmpeg failure already returned by read is not repeated.
func (d *ffmpegDecoder) close() error {
	if d.cmd.ProcessState == nil {
		if err := d.cmd.Process.Signal(os.Kill); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("media: stopping ffmpeg: %w", err)
		}
	}
	_ = d.wait() // the exit status of a killed ffmpeg says only that
	return nil
}

// tail keeps the last bytes written to it: ffmpeg's error output.
type tail struct {
	b []byte
}

// Write appends p, keeping the last 4 KiB.
func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 4096; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

// String returns the kept output, trimmed.
func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
