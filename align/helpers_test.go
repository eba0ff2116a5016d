package align_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
)

// rate is the test sample rate: 1 kHz makes one sample one millisecond, so
// sample values can be their own time in ms.
const rate = 1000

const ms = time.Millisecond

// clock is a fake clock for Config.Now.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// audio returns a chunk of stream id covering [from, to) ms at 1 kHz whose
// samples hold their own time in ms.
func audio(id string, from, to int) align.Media {
	s := make([]float32, to-from)
	for i := range s {
		s[i] = float32(from + i)
	}
	return align.Media{StreamID: id, Modality: align.Audio, Time: time.Duration(from) * ms, Samples: s, SampleRate: rate}
}

// audioRun returns the chunks of length step covering [from, to) ms.
func audioRun(id string, from, to, step int) []align.Input {
	var in []align.Input
	for t := from; t < to; t += step {
		in = append(in, audio(id, t, min(t+step, to)))
	}
	return in
}

// frame returns a video frame of stream id at t ms.
func frame(id string, t int) align.Media {
	return align.Media{StreamID: id, Modality: align.Vision, Time: time.Duration(t) * ms, Features: []float32{float32(t)}}
}

// frames returns frames of stream id at from, from+step, ... below to.
func frames(id string, from, to, step int) []align.Input {
	var in []align.Input
	for t := from; t < to; t += step {
		in = append(in, frame(id, t))
	}
	return in
}

// seg returns a transcript segment of stream id covering [from, to) ms.
func seg(id string, from, to int, text, speaker string, final bool) align.Segment {
	return align.Segment{StreamID: id, Speaker: speaker, Start: time.Duration(from) * ms, End: time.Duration(to) * ms, Text: text, Final: final, Lang: "en"}
}

// concat joins input lists.
func concat(lists ...[]align.Input) []align.Input {
	var out []align.Input
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// summary is the comparable gist of a window, in ms.
type summary struct {
	Stream     string
	Seq        uint64
	Start, End int
	Text       string
	Speaker    string
	Present    string
	Forced     bool
	// Audio is "first-last/chunks" of the sample values, or "".
	Audio string
	// Frames lists the frame times.
	Frames string
}

func summarize(t *testing.T, ws []align.Window) []summary {
	t.Helper()
	out := make([]summary, 0, len(ws))
	for _, w := range ws {
		s := summary{
			Stream: w.StreamID, Seq: w.Seq, Start: int(w.Start / ms), End: int(w.End / ms),
			Text: w.Text, Speaker: w.Speaker, Present: w.Present.String(), Forced: w.Forced,
		}
		if len(w.Audio) > 0 {
			var first, last float32 = -1, -1
			for i, c := range w.Audio {
				// Each chunk's Time is that of its first sample, whose
				// value is its time in ms.
				if got := float32(c.Time / ms); got != c.Samples[0] {
					t.Errorf("window %d chunk %d: Time %v, first sample at %v ms", w.Seq, i, c.Time, c.Samples[0])
				}
				if i > 0 && c.Samples[0] != last+1 {
					t.Errorf("window %d: chunk %d starts at %v after %v", w.Seq, i, c.Samples[0], last)
				}
				if first < 0 {
					first = c.Samples[0]
				}
				last = c.Samples[len(c.Samples)-1]
			}
			s.Audio = fmt.Sprintf("%v-%v/%d", first, last, len(w.Audio))
		}
		var fs []string
		for _, f := range w.Vision {
			fs = append(fs, strconv.Itoa(int(f.Time/ms)))
		}
		s.Frames = strings.Join(fs, ",")
		out = append(out, s)
	}
	return out
}

// feed adds every input, failing the test on an unexpected error, and
// returns the windows emitted plus the errors returned, by input index.
func feed(t *testing.T, a *align.Aligner, in []align.Input) ([]align.Window, map[int]error) {
	t.Helper()
	var out []align.Window
	errs := map[int]error{}
	for i, x := range in {
		ws, err := a.Add(x)
		if err != nil {
			errs[i] = err
		}
		out = append(out, ws...)
	}
	return out, errs
}

func newAligner(t testing.TB, cfg align.Config) *align.Aligner {
	t.Helper()
	a, err := align.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}
