package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/cmc-stream/cmc-stream/event"
)

// Format selects how Stdout prints events.
type Format string

// The formats of Stdout.
const (
	// JSONL prints each event as one line of JSON, the cmc.sentiment.v2
	// object; for files and for piping into jq.
	JSONL Format = "jsonl"
	// Text prints each event as one human-readable line: stream, speaker,
	// window, label, probabilities, each modality's label and router
	// weight, the score, the agreement, "conflict" when an expert
	// disagreed with the fused label, and the transcript.
	Text Format = "text"
)

// Stdout writes events as lines to an io.Writer, normally os.Stdout. Each
// Write encodes the whole batch, then writes it with one call to the
// underlying writer, so a batch is accepted only once its lines were written.
// It is safe for concurrent use; concurrent batches do not interleave.
type Stdout struct {
	format Format

	mu     sync.Mutex
	w      *bufio.Writer
	closed bool
}

// NewStdout returns a sink that writes to w in the given format; an empty
// format means Text. Close does not close w.
func NewStdout(w io.Writer, format Format) (*Stdout, error) {
	switch format {
	case "":
		format = Text
	case JSONL, Text:
	default:
		return nil, fmt.Errorf("sink: stdout: unknown format %q", format)
	}
	return &Stdout{format: format, w: bufio.NewWriter(w)}, nil
}

// Write prints one line per event. It fails the whole batch, writing
// nothing, if an event cannot be encoded.
func (s *Stdout) Write(ctx context.Context, events []event.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: stdout: %w", err)
	}
	var buf []byte
	for i := range events {
		var err error
		if buf, err = s.appendLine(buf, &events[i]); err != nil {
			return fmt.Errorf("sink: stdout: event %q: %w", events[i].EventID, err)
		}
	}
	return s.writeLines(buf)
}

// writeLines writes encoded lines with one call to the underlying writer.
func (s *Stdout) writeLines(buf []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("sink: stdout: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("sink: stdout: %w", err)
	}
	return nil
}

// Close marks the sink closed; it does not close the underlying writer.
func (s *Stdout) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *Stdout) appendLine(b []byte, e *event.Event) ([]byte, error) {
	if s.format == JSONL {
		j, err := json.Marshal(e)
		if err != nil {
			return b, err
		}
		return append(appendJSONControls(b, j), '\n'), nil
	}
	return appendText(b, e), nil
}

// appendJSONControls appends the JSON j with DEL and the C1 control
// characters (U+007F to U+009F, which encoding/json leaves raw; U+009B
// starts a terminal escape sequence) written as \u escapes, so that no
// control character reaches a terminal.
func appendJSONControls(b, j []byte) []byte {
	for len(j) > 0 {
		r, n := utf8.DecodeRune(j)
		if r >= 0x7f && r <= 0x9f {
			b = fmt.Appendf(b, `\u%04x`, r)
		} else {
			b = append(b, j[:n]...)
		}
		j = j[n:]
	}
	return b
}

// appendText renders an event as in
//
//	call-42 [customer] utt#17 10:00:03.200-10:00:06.850 negative (neg 0.71 neu 0.18 pos 0.11) text=positive/0.21 audio=negative/0.38 vision=absent/0.41 score=-0.60 agree=0.82 conflict "sure, that's just great"
func appendText(b []byte, e *event.Event) []byte {
	b = appendName(b, e.StreamID)
	if e.Speaker != "" {
		b = append(b, " ["...)
		b = appendName(b, e.Speaker)
		b = append(b, ']')
	}
	kind := "win#"
	if e.Window.Kind == event.Utterance {
		kind = "utt#"
	}
	const clock = "15:04:05.000"
	b = append(b, ' ')
	b = append(b, kind...)
	b = strconv.AppendUint(b, e.Window.Seq, 10)
	b = append(b, ' ')
	b = e.Window.Start.UTC().AppendFormat(b, clock)
	b = append(b, '-')
	b = e.Window.End.UTC().AppendFormat(b, clock)
	b = append(b, ' ')
	b = append(b, e.Label...)
	b = fmt.Appendf(b, " (neg %.2f neu %.2f pos %.2f)", e.Probs.Negative, e.Probs.Neutral, e.Probs.Positive)
	names := [3]string{"text", "audio", "vision"}
	for i, m := range e.Modalities.All() {
		label := string(m.Label)
		if !m.Present {
			label = "absent"
		}
		b = fmt.Appendf(b, " %s=%s/%.2f", names[i], label, m.RouterWeight)
	}
	b = fmt.Appendf(b, " score=%+.2f agree=%.2f", e.Score, e.Consensus.Agreement)
	if e.Consensus.Conflict {
		b = append(b, " conflict"...)
	}
	if e.Transcript != "" {
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Transcript)
	}
	return append(b, '\n')
}
