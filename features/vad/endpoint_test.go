package vad

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/wav"
)

// scripted is a ProbSource that returns its probabilities in turn, one
// per chunk.
type scripted struct {
	probs []float32
	i     int
}

func (s *scripted) Prob(chunk []float32) (float32, error) {
	if len(chunk) != ChunkSize {
		return 0, ErrChunkSize
	}
	if s.i >= len(s.probs) {
		return 0, errors.New("script exhausted")
	}
	p := s.probs[s.i]
	s.i++
	return p, nil
}

func repeat(p float32, n int) []float32 { return slices.Repeat([]float32{p}, n) }

const ms = time.Millisecond

// TestEndpointerScripted runs the endpointing rules over scripted
// probabilities, one per 32 ms chunk. The expected segments are worked
// out by hand from the rules (see each case).
func TestEndpointerScripted(t *testing.T) {
	cfg := EndpointConfig{Threshold: 0.5, MinSilence: 96 * ms, Padding: 32 * ms, MinSpeech: 64 * ms, MaxSegment: 320 * ms}
	var probs []float32
	probs = append(probs, 0.1, 0.4, 0.1)      // chunks 0-2: silence (0.4 does not start speech)
	probs = append(probs, 0.9, 0.9, 0.4, 0.9) // 3-6: speech (0.4 is above 0.5-0.15: still speech)
	probs = append(probs, repeat(0.1, 3)...)  // 7-9: 96 ms of silence ends it at chunk 9
	probs = append(probs, 0.9)                // 10: a 32 ms burst, below MinSpeech
	probs = append(probs, repeat(0.1, 4)...)  // 11-14: silence
	probs = append(probs, repeat(0.9, 16)...) // 15-30: 512 ms of speech, cut at 320 ms
	want := []struct{ start, end time.Duration }{
		// Speech starts at chunk 3 (96 ms) minus 32 ms padding, and its
		// last speech chunk 6 ends at 224 ms, plus 32 ms padding.
		{64 * ms, 256 * ms},
		// The third speech starts at chunk 15 (480 ms) minus padding;
		// 320 ms later the segment is cut.
		{448 * ms, 768 * ms},
		// It goes on to the end of chunk 30 (992 ms), where Flush ends
		// it without audio for the padding.
		{768 * ms, 992 * ms},
	}
	src := &scripted{probs: probs}
	e, err := NewEndpointer(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Feed uneven 700-sample writes with their stream times, a partial
	// chunk left at the end.
	total := len(probs)*ChunkSize + 100
	x := make([]float32, total)
	for i := range x {
		x[i] = float32(i%100) / 100
	}
	var got []Speech
	for i := 0; i < total; i += 700 {
		s, err := e.Write(durOf(i), x[i:min(i+700, total)])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s...)
	}
	got = append(got, e.Flush()...)
	if len(got) != len(want) {
		t.Fatalf("got %d segments %v, want %d", len(got), spans(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Start != w.start || g.End != w.end {
			t.Errorf("segment %d: [%v, %v), want [%v, %v)", i, g.Start, g.End, w.start, w.end)
		}
		// The samples are the input's at those times.
		first := samplesOf(w.start)
		if len(g.Samples) != samplesOf(w.end-w.start) || !slices.Equal(g.Samples, x[first:first+len(g.Samples)]) {
			t.Errorf("segment %d: samples are not the input's [%v, %v)", i, w.start, w.end)
		}
	}
	if src.i != len(probs) {
		t.Errorf("scored %d chunks, want %d", src.i, len(probs))
	}
}

// TestEndpointerGap checks that a gap in the input (dropped audio) ends
// the segment in progress.
func TestEndpointerGap(t *testing.T) {
	e, err := NewEndpointer(&scripted{probs: repeat(0.9, 20)}, EndpointConfig{Padding: 1 * ms, MinSpeech: 32 * ms})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 5*ChunkSize+10)
	if s, err := e.Write(0, x); err != nil || len(s) != 0 {
		t.Fatalf("first write: %v, %v", spans(s), err)
	}
	s, err := e.Write(time.Second, x[:ChunkSize])
	if err != nil || len(s) != 1 || s[0].Start != 0 || s[0].End != 5*chunkDur {
		t.Fatalf("after a gap: %v, %v; want one segment [0, %v)", spans(s), err, 5*chunkDur)
	}
}

func TestEndpointConfigValidate(t *testing.T) {
	for _, c := range []EndpointConfig{
		{Threshold: 1},
		{Threshold: -0.1},
		{MinSilence: -ms},
		{MinSilence: 100 * ms, Padding: 60 * ms},
		{MaxSegment: 100 * ms, MinSpeech: 200 * ms},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
		if _, err := NewEndpointer(&scripted{}, c); err == nil {
			t.Errorf("NewEndpointer(%+v) accepted", c)
		}
	}
	if err := (EndpointConfig{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func spans(s []Speech) [][2]time.Duration {
	var out [][2]time.Duration
	for _, x := range s {
		out = append(out, [2]time.Duration{x.Start, x.End})
	}
	return out
}

// TestEndpointerShowcase runs the real Silero VAD over the demo showcase
// (7 utterances with 600 ms pauses, demo/showcase_transcript.jsonl gives
// their times): the endpointer with its defaults finds one segment per
// utterance, each overlapping its own utterance.
func TestEndpointerShowcase(t *testing.T) {
	x := readWAV(t, "../../demo/media/showcase.wav")
	utts := showcaseUtterances(t)
	d, err := Open(filepath.Join(testNative.AssetsDir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e, err := NewEndpointer(d, EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var segs []Speech
	for i := 0; i < len(x); i += 320 { // 20 ms chunks, as the live sources deliver
		s, err := e.Write(durOf(i), x[i:min(i+320, len(x))])
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, s...)
	}
	segs = append(segs, e.Flush()...)
	if len(segs) != len(utts) {
		t.Fatalf("%d segments %v, want one per utterance %v", len(segs), spans(segs), utts)
	}
	for i, s := range segs {
		// The segment overlaps its utterance by most of the utterance,
		// and no other.
		for j, u := range utts {
			ov := min(s.End, u[1]) - max(s.Start, u[0])
			if j == i && ov < (u[1]-u[0])*3/4 {
				t.Errorf("segment %d [%v, %v) covers too little of utterance [%v, %v)", i, s.Start, s.End, u[0], u[1])
			}
			if j != i && ov > 200*ms {
				t.Errorf("segment %d [%v, %v) overlaps utterance %d [%v, %v)", i, s.Start, s.End, j, u[0], u[1])
			}
		}
	}
}

func showcaseUtterances(t *testing.T) [][2]time.Duration {
	t.Helper()
	b, err := os.ReadFile("../../demo/showcase_transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]time.Duration
	for _, line := range splitLines(b) {
		var u struct{ Start, End float64 }
		if err := json.Unmarshal(line, &u); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]time.Duration{time.Duration(u.Start * float64(time.Second)), time.Duration(u.End * float64(time.Second))})
	}
	return out
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := slices.Index(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		b = b[min(i+1, len(b)):]
	}
	return out
}

func readWAV(t testing.TB, path string) []float32 {
	t.Helper()
	x, _, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
