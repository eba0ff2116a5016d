package transcript

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// FileConfig configures a File source.
type FileConfig struct {
	// Path is the JSON Lines file to read. Required.
	Path string
	// MaxTextBytes bounds the text of a segment, in bytes; 0 means
	// event.DefaultMaxTextBytes. A line longer than the decoder accepts
	// (6 × MaxTextBytes + 4 KiB, room for JSON escapes) is skipped and
	// reported without being held in memory.
	MaxTextBytes int
}

// Validate checks that Path is set and MaxTextBytes is not negative.
func (c FileConfig) Validate() error {
	if c.Path == "" {
		return errors.New("transcript: no path")
	}
	if c.MaxTextBytes < 0 {
		return errors.New("transcript: negative MaxTextBytes")
	}
	return nil
}

// LineError reports a line of a file that is not a valid segment.
type LineError struct {
	// Path is the file.
	Path string
	// Line is the 1-based line number.
	Line int
	// Err is the reason, usually a *event.FieldError.
	Err error
}

// Error returns "transcript: <path>:<line>: <reason>".
func (e *LineError) Error() string {
	return fmt.Sprintf("transcript: %s:%d: %v", e.Path, e.Line, e.Err)
}

// Unwrap returns the reason, so errors.Is and errors.As see the
// *event.FieldError and its sentinel.
func (e *LineError) Unwrap() error { return e.Err }

// File is a pipeline.Source of the segments of a JSON Lines file, in file
// order. Blank lines are skipped. Its segments need no acknowledgement (the
// AckFunc is nil): replaying the file replays them. Like every source, its
// methods must not be called concurrently.
type File struct {
	cfg     FileConfig
	dec     event.SegmentDecoder
	maxLine int

	f    *os.File
	r    *bufio.Reader
	line int
}

var _ pipeline.Source[event.Segment] = (*File)(nil)

// NewFile returns a source of the file; Connect opens it.
func NewFile(cfg FileConfig) (*File, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	maxText := cfg.MaxTextBytes
	if maxText == 0 {
		maxText = event.DefaultMaxTextBytes
	}
	return &File{cfg: cfg, dec: event.SegmentDecoder{MaxTextBytes: maxText}, maxLine: 6*maxText + 4<<10}, nil
}

// Connect opens the file, the first time it is called; later calls do
// nothing, so reading resumes where it stopped.
func (s *File) Connect(context.Context) error {
	if s.f != nil {
		return nil
	}
	f, err := os.Open(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	s.f, s.r = f, bufio.NewReaderSize(f, 64<<10)
	return nil
}

// Read returns the next segment. It returns pipeline.ErrEndOfInput at the end
// of the file, a *LineError for a malformed or oversize line (the next Read
// goes on after it), pipeline.ErrNotConnected before Connect, and ctx.Err()
// when ctx is done.
func (s *File) Read(ctx context.Context) (event.Segment, pipeline.AckFunc, error) {
	if s.r == nil {
		return event.Segment{}, nil, pipeline.ErrNotConnected
	}
	for {
		if err := ctx.Err(); err != nil {
			return event.Segment{}, nil, err
		}
		line, err := s.readLine()
		if err != nil {
			return event.Segment{}, nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		seg, err := s.dec.Decode(line)
		if err != nil {
			return event.Segment{}, nil, &LineError{Path: s.cfg.Path, Line: s.line, Err: err}
		}
		return seg, nil, nil
	}
}

// readLine returns the next line without its newline, a *LineError for a
// line longer than maxLine (skipped to its end), or ErrEndOfInput.
func (s *File) readLine() ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > s.maxLine+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(chunk) == 0 && len(line) == 0 && !tooLong {
				return nil, pipeline.ErrEndOfInput
			}
		case err != nil:
			return nil, fmt.Errorf("transcript: %s: %w", s.cfg.Path, err)
		}
		s.line++
		if tooLong {
			return nil, &LineError{Path: s.cfg.Path, Line: s.line,
				Err: fmt.Errorf("%w: line longer than %d bytes", event.ErrTooLarge, s.maxLine)}
		}
		return bytes.TrimSuffix(line, []byte("\n")), nil
	}
}

// Close closes the file.
func (s *File) Close(context.Context) error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.r = nil, nil
	if err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	return nil
}
