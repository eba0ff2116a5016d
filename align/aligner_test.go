package align_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
)

// scenario feeds inputs to a fresh Aligner, then optionally flushes it.
type scenario struct {
	name  string
	cfg   align.Config
	in    []align.Input
	flush bool
	want  []summary
	// late lists the indexes of the inputs expected to return ErrLate.
	late  []int
	stats align.Stats
}

func (sc scenario) run(t *testing.T) {
	t.Helper()
	c := newClock()
	sc.cfg.Now = c.now
	a := newAligner(t, sc.cfg)
	ws, errs := feed(t, a, sc.in)
	if sc.flush {
		ws = append(ws, a.Flush()...)
	}
	if got := summarize(t, ws); !slices.Equal(got, sc.want) {
		t.Errorf("windows:\n got %+v\nwant %+v", got, sc.want)
	}
	for i, err := range errs {
		if !slices.Contains(sc.late, i) || !errors.Is(err, align.ErrLate) {
			t.Errorf("input %d: unexpected error %v", i, err)
		}
	}
	for _, i := range sc.late {
		if !errors.Is(errs[i], align.ErrLate) {
			t.Errorf("input %d: error %v, want ErrLate", i, errs[i])
		}
	}
	if got := a.Stats(); got != sc.stats {
		t.Errorf("stats:\n got %+v\nwant %+v", got, sc.stats)
	}
}

// runAll runs each scenario as a parallel subtest.
func runAll(t *testing.T, tests []scenario) {
	t.Helper()
	for _, sc := range tests {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t)
		})
	}
}

func TestUtterance(t *testing.T) {
	t.Parallel()
	tests := []scenario{
		{
			name: "all modalities then the segment",
			in:   concat(audioRun("s", 0, 1000, 100), frames("s", 0, 1000, 100), []align.Input{seg("s", 200, 500, "hello", "ann", true)}),
			want: []summary{{Stream: "s", Seq: 0, Start: 200, End: 500, Text: "hello", Speaker: "ann", Present: "text+audio+vision", Audio: "200-499/3", Frames: "200,300,400"}},
			// Pruned before 500: audio chunks and frames at 0 and 100
			// unused; 5 chunks and 5 frames remain.
			stats: align.Stats{Streams: 1, Buffered: 10, Media: 20, Segments: 1, Windows: 1, Unused: 4},
		},
		{
			name: "segment first waits for both watermarks",
			// Expected: a segment that comes before any media would
			// otherwise go out at once, text only.
			cfg:  align.Config{Expect: align.Of(align.Audio, align.Vision)},
			in:   concat([]align.Input{seg("s", 200, 500, "hello", "ann", true)}, audioRun("s", 0, 600, 100), frames("s", 0, 600, 100)),
			want: []summary{{Stream: "s", Seq: 0, Start: 200, End: 500, Text: "hello", Speaker: "ann", Present: "text+audio+vision", Audio: "200-499/3", Frames: "200,300,400"}},
			// Media wholly before the pending utterance's start, arriving
			// after it, falls into no window: unused, not late (no window
			// missed it).
			stats: align.Stats{Streams: 1, Buffered: 2, Media: 12, Segments: 1, Windows: 1, Unused: 4},
		},
		{
			name: "interim segment then final",
			in:   concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 200, 400, "hel", "ann", false), seg("s", 200, 500, "hello", "ann", true)}),
			want: []summary{{Stream: "s", Seq: 0, Start: 200, End: 500, Text: "hello", Speaker: "ann", Present: "text+audio", Audio: "200-499/3"}},
			// The draft pins the buffer at 200: chunks before are unused.
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 6, Segments: 2, Windows: 1, Unused: 2},
		},
		{
			name:  "draft flushed as final",
			in:    concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 100, 300, "hi", "ann", false)}),
			flush: true,
			want:  []summary{{Stream: "s", Seq: 0, Start: 100, End: 300, Text: "hi", Speaker: "ann", Present: "text+audio", Audio: "100-299/2"}},
			// Chunk 0 pruned at the draft; chunks from 300 dropped with the
			// stream.
			stats: align.Stats{Media: 6, Segments: 1, Windows: 1, Unused: 4},
		},
		{
			name: "two utterances",
			in:   concat(audioRun("s", 0, 1000, 100), []align.Input{seg("s", 0, 400, "a", "x", true), seg("s", 500, 900, "b", "y", true)}),
			want: []summary{
				{Stream: "s", Seq: 0, Start: 0, End: 400, Text: "a", Speaker: "x", Present: "text+audio", Audio: "0-399/4"},
				{Stream: "s", Seq: 1, Start: 500, End: 900, Text: "b", Speaker: "y", Present: "text+audio", Audio: "500-899/4"},
			},
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 10, Segments: 2, Windows: 2, Unused: 1},
		},
		{
			name: "out of order within the allowed lateness",
			cfg:  align.Config{AllowedLateness: 300 * ms},
			in: []align.Input{
				frame("s", 300), frame("s", 100), frame("s", 200), frame("s", 0),
				audio("s", 100, 200), audio("s", 0, 100), audio("s", 300, 400), audio("s", 200, 300),
				seg("s", 0, 400, "a", "x", true),
				audio("s", 400, 700), frame("s", 700),
			},
			// Ready once both watermarks reach 400 + 300 ms.
			want: []summary{{Stream: "s", Seq: 0, Start: 0, End: 400, Text: "a", Speaker: "x", Present: "text+audio+vision", Audio: "0-399/4", Frames: "0,100,200,300"}},
			// A later segment may start at 400 - 300 ms: only the chunk
			// and the frame before 100 are pruned.
			stats: align.Stats{Streams: 1, Buffered: 8, Media: 10, Segments: 1, Windows: 1},
		},
	}
	runAll(t, tests)
}

func TestSliding(t *testing.T) {
	t.Parallel()
	sliding := align.Config{Policy: align.Sliding, Size: 1000 * ms, Hop: 500 * ms}
	tests := []scenario{
		{
			name:  "audio only",
			cfg:   sliding,
			in:    audioRun("s", 0, 2500, 100),
			flush: true,
			want: []summary{
				{Stream: "s", Seq: 0, Start: 0, End: 1000, Present: "audio", Audio: "0-999/10"},
				{Stream: "s", Seq: 1, Start: 500, End: 1500, Present: "audio", Audio: "500-1499/10"},
				{Stream: "s", Seq: 2, Start: 1000, End: 2000, Present: "audio", Audio: "1000-1999/10"},
				{Stream: "s", Seq: 3, Start: 1500, End: 2500, Present: "audio", Audio: "1500-2499/10"},
				// Only Flush emits the last window holding data, before
				// the audio watermark passed its end.
				{Stream: "s", Seq: 4, Start: 2000, End: 3000, Present: "audio", Audio: "2000-2499/5", Forced: true},
			},
			stats: align.Stats{Media: 25, Windows: 5, Forced: 1},
		},
		{
			name: "text from overlapping segments",
			cfg:  align.Config{Policy: align.Sliding, Size: 1000 * ms, Hop: 500 * ms, Expect: align.Of(align.Audio)},
			in: concat([]align.Input{
				seg("s", 200, 700, "a", "x", true),
				seg("s", 800, 1400, "b", "y", true),
			}, audioRun("s", 0, 2000, 100)),
			flush: true,
			want: []summary{
				// a overlaps 500 ms, b 200 ms: speaker x.
				{Stream: "s", Seq: 0, Start: 0, End: 1000, Text: "a b", Speaker: "x", Present: "text+audio", Audio: "0-999/10"},
				// a overlaps 200 ms, b 600 ms: speaker y. The text
				// watermark (1400) never passes 1500: only Flush emits it.
				{Stream: "s", Seq: 1, Start: 500, End: 1500, Text: "a b", Speaker: "y", Present: "text+audio", Audio: "500-1499/10", Forced: true},
				{Stream: "s", Seq: 2, Start: 1000, End: 2000, Text: "b", Speaker: "y", Present: "text+audio", Audio: "1000-1999/10", Forced: true},
				{Stream: "s", Seq: 3, Start: 1500, End: 2500, Present: "audio", Audio: "1500-1999/5", Forced: true},
			},
			stats: align.Stats{Media: 20, Segments: 2, Windows: 4, Forced: 3},
		},
		{
			name:  "offset",
			cfg:   align.Config{Policy: align.Sliding, Size: 1000 * ms, Hop: 1000 * ms, Offset: 250 * ms},
			in:    audioRun("s", 0, 2000, 100),
			flush: true,
			want: []summary{
				{Stream: "s", Seq: 0, Start: 250, End: 1250, Present: "audio", Audio: "250-1249/11"},
				{Stream: "s", Seq: 1, Start: 1250, End: 2250, Present: "audio", Audio: "1250-1999/8", Forced: true},
			},
			// The chunks wholly before the first window fall into none:
			// unused, not late.
			stats: align.Stats{Media: 20, Windows: 2, Forced: 1, Unused: 2},
		},
		{
			name:  "gap in every modality is skipped",
			cfg:   align.Config{Policy: align.Sliding, Size: 1000 * ms, Hop: 1000 * ms},
			in:    concat(audioRun("s", 0, 1000, 100), audioRun("s", 5000, 6000, 100)),
			flush: true,
			want: []summary{
				{Stream: "s", Seq: 0, Start: 0, End: 1000, Present: "audio", Audio: "0-999/10"},
				{Stream: "s", Seq: 1, Start: 5000, End: 6000, Present: "audio", Audio: "5000-5999/10"},
			},
			stats: align.Stats{Media: 20, Windows: 2},
		},
	}
	runAll(t, tests)
}

func TestLateness(t *testing.T) {
	t.Parallel()
	window := summary{Stream: "s", Seq: 0, Start: 0, End: 500, Text: "a", Speaker: "x", Present: "text+audio", Audio: "0-499/5"}
	tests := []scenario{
		{
			name:  "behind the watermark",
			in:    []align.Input{audio("s", 0, 100), audio("s", 100, 200), audio("s", 50, 150)},
			late:  []int{2},
			stats: align.Stats{Streams: 1, Buffered: 2, Media: 2, Late: 1},
		},
		{
			name:  "within the allowed lateness",
			cfg:   align.Config{AllowedLateness: 100 * ms},
			in:    []align.Input{frame("s", 300), frame("s", 250), frame("s", 150)},
			late:  []int{2}, // 150 < 300 - 100
			stats: align.Stats{Streams: 1, Buffered: 2, Media: 2, Late: 1},
		},
		{
			name:  "after its window was emitted",
			in:    concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 0, 500, "a", "x", true), frame("s", 100)}),
			want:  []summary{window},
			late:  []int{7},
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 6, Segments: 1, Windows: 1, Late: 1},
		},
		{
			// The frame at 600 comes after the window [0, 500) was emitted,
			// but lies before the pending [800, 1000): no window missed it.
			name: "between emitted and pending windows",
			in: concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 0, 500, "a", "x", true),
				seg("s", 800, 1000, "b", "y", true), frame("s", 600)}),
			want: []summary{window},
			// Unused: the frame and the chunk [500, 600), pruned.
			stats: align.Stats{Streams: 1, Media: 7, Segments: 2, Windows: 1, Unused: 2},
		},
		{
			name:  "late segment",
			in:    concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 0, 500, "a", "x", true), seg("s", 200, 400, "b", "y", true)}),
			want:  []summary{window},
			late:  []int{7},
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 6, Segments: 1, Windows: 1, Late: 1},
		},
		{
			name:  "lateness holds the window",
			cfg:   align.Config{AllowedLateness: 200 * ms},
			in:    concat(audioRun("s", 0, 600, 100), []align.Input{seg("s", 0, 500, "a", "x", true)}),
			stats: align.Stats{Streams: 1, Buffered: 6, Media: 6, Segments: 1},
		},
		{
			name: "lateness passed",
			cfg:  align.Config{AllowedLateness: 200 * ms},
			in:   concat(audioRun("s", 0, 700, 100), []align.Input{seg("s", 0, 500, "a", "x", true)}),
			want: []summary{window},
			// The frontier is 500 - 200 ms: chunks from 300 stay.
			stats: align.Stats{Streams: 1, Buffered: 4, Media: 7, Segments: 1, Windows: 1},
		},
	}
	runAll(t, tests)
}

func TestBufferCap(t *testing.T) {
	t.Parallel()
	tests := []scenario{
		{
			name:  "oldest audio dropped",
			cfg:   align.Config{MaxBuffered: 5},
			in:    concat(audioRun("s", 0, 800, 100), []align.Input{seg("s", 0, 800, "a", "x", true)}),
			want:  []summary{{Stream: "s", Seq: 0, Start: 0, End: 800, Text: "a", Speaker: "x", Present: "text+audio", Audio: "300-799/5"}},
			stats: align.Stats{Streams: 1, Media: 8, Segments: 1, Windows: 1, Overflow: 3},
		},
		{
			name: "oldest across modalities",
			cfg:  align.Config{MaxBuffered: 3},
			in: []align.Input{
				audio("s", 0, 100), frame("s", 50), frame("s", 150),
				audio("s", 100, 200), // drops the audio at 0
				frame("s", 250),      // drops the frame at 50
				seg("s", 0, 200, "a", "x", true),
			},
			want:  []summary{{Stream: "s", Seq: 0, Start: 0, End: 200, Text: "a", Speaker: "x", Present: "text+audio+vision", Audio: "100-199/1", Frames: "150"}},
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 5, Segments: 1, Windows: 1, Overflow: 2},
		},
	}
	runAll(t, tests)
}

// TestMaxWait covers a stream missing a modality: with nothing expected the
// window goes out at once; with video expected (or gone silent) it goes out
// after MaxWait on the fake clock, marked Forced.
func TestMaxWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    align.Config
		in     []align.Input
		before []summary // emitted by the inputs
		after  []summary // emitted by the Tick at MaxWait
	}{
		{
			name:   "no video, none expected",
			in:     concat(audioRun("s", 0, 500, 100), []align.Input{seg("s", 0, 500, "a", "x", true)}),
			before: []summary{{Stream: "s", Start: 0, End: 500, Text: "a", Speaker: "x", Present: "text+audio", Audio: "0-499/5"}},
		},
		{
			name:  "video expected, never sent",
			cfg:   align.Config{Expect: align.Of(align.Vision)},
			in:    concat([]align.Input{seg("s", 0, 500, "a", "x", true)}, audioRun("s", 0, 600, 100)),
			after: []summary{{Stream: "s", Start: 0, End: 500, Text: "a", Speaker: "x", Present: "text+audio", Audio: "0-499/5", Forced: true}},
		},
		{
			name:  "video stops",
			in:    concat(frames("s", 0, 500, 100), audioRun("s", 0, 1000, 100), []align.Input{seg("s", 0, 800, "a", "x", true)}),
			after: []summary{{Stream: "s", Start: 0, End: 800, Text: "a", Speaker: "x", Present: "text+audio+vision", Audio: "0-799/8", Frames: "0,100,200,300,400", Forced: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			tc.cfg.Now = c.now
			a := newAligner(t, tc.cfg)
			ws, errs := feed(t, a, tc.in)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := summarize(t, ws); !slices.Equal(got, tc.before) {
				t.Errorf("before the wait:\n got %+v\nwant %+v", got, tc.before)
			}
			c.advance(align.DefaultMaxWait - time.Nanosecond)
			if got := a.Tick(); len(got) != 0 {
				t.Errorf("Tick 1 ns before MaxWait emitted %+v", summarize(t, got))
			}
			c.advance(time.Nanosecond)
			if got := summarize(t, a.Tick()); !slices.Equal(got, tc.after) {
				t.Errorf("at MaxWait:\n got %+v\nwant %+v", got, tc.after)
			}
			if got, want := a.Stats().Forced, uint64(len(tc.after)); got != want {
				t.Errorf("Stats.Forced = %d, want %d", got, want)
			}
		})
	}
}

// TestSlidingMaxWaitPerWindow checks that each sliding window waits MaxWait
// from when it fell due, not from when the one before it was emitted.
func TestSlidingMaxWaitPerWindow(t *testing.T) {
	t.Parallel()
	c := newClock()
	a := newAligner(t, align.Config{Policy: align.Sliding, Size: time.Second, Hop: time.Second, Expect: align.Of(align.Vision), Now: c.now})
	mustAdd(t, a, audio("s", 0, 1000)) // window 0 due at 0 s
	c.advance(500 * ms)
	mustAdd(t, a, audio("s", 1000, 2000)) // window 1 due at 0.5 s
	c.advance(1500 * ms)
	if got := summarize(t, a.Tick()); len(got) != 1 || got[0].Start != 0 || !got[0].Forced {
		t.Fatalf("at 2 s: %+v, want window 0, forced", got)
	}
	c.advance(499 * ms)
	if got := a.Tick(); len(got) != 0 {
		t.Fatalf("at 2.499 s: %+v, want nothing", summarize(t, got))
	}
	c.advance(ms)
	if got := summarize(t, a.Tick()); len(got) != 1 || got[0].Start != 1000 || got[0].Seq != 1 {
		t.Fatalf("at 2.5 s: %+v, want window 1", got)
	}
}

func mustAdd(t *testing.T, a *align.Aligner, in align.Input) []align.Window {
	t.Helper()
	ws, err := a.Add(in)
	if err != nil {
		t.Fatalf("Add(%+v): %v", in, err)
	}
	return ws
}

func TestIdleStreamsExpire(t *testing.T) {
	t.Parallel()
	c := newClock()
	a := newAligner(t, align.Config{IdleTimeout: time.Minute, Now: c.now})
	const idle = 1000
	for i := range idle {
		mustAdd(t, a, audio(fmt.Sprintf("idle-%04d", i), 0, 100))
	}
	c.advance(30 * time.Second)
	mustAdd(t, a, audio("active", 0, 100))
	c.advance(30*time.Second - time.Nanosecond)
	if ws := a.Tick(); len(ws) != 0 || a.Stats().Streams != idle+1 {
		t.Fatalf("1 ns before the timeout: %d windows, %d streams", len(ws), a.Stats().Streams)
	}
	c.advance(time.Nanosecond)
	if ws := a.Tick(); len(ws) != 0 {
		t.Fatalf("expiry emitted %d windows from streams without text", len(ws))
	}
	// Each idle stream held one chunk that fell into no window, discarded
	// with it.
	want := align.Stats{Streams: 1, Buffered: 1, Media: idle + 1, Unused: idle, Expired: idle, Discarded: idle}
	if got := a.Stats(); got != want {
		t.Errorf("stats:\n got %+v\nwant %+v", got, want)
	}
	// The active stream expires a minute after its input, its pending
	// utterance flushed first.
	mustAdd(t, a, seg("active", 0, 200, "a", "x", true))
	c.advance(time.Minute)
	if got := summarize(t, a.Tick()); len(got) != 1 || got[0].Stream != "active" || got[0].Audio != "0-99/1" || !got[0].Forced {
		t.Errorf("expiring the active stream emitted %+v, want its forced window", got)
	}
	if got := a.Stats(); got.Streams != 0 || got.Expired != idle+1 || got.Buffered != 0 {
		t.Errorf("after expiry: %+v", got)
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   align.Input
		why  string
	}{
		{"no stream", align.Media{Modality: align.Vision}, "stream id"},
		{"text as media", align.Media{StreamID: "s", Modality: align.Text}, "modality text"},
		{"negative time", align.Media{StreamID: "s", Modality: align.Vision, Time: -1}, "outside [0, MaxEventTime]"},
		{"time too far", align.Media{StreamID: "s", Modality: align.Vision, Time: align.MaxEventTime + 1}, "outside [0, MaxEventTime]"},
		{"segment too far", align.Segment{StreamID: "s", End: align.MaxEventTime + 1}, "outside [0, MaxEventTime]"},
		{"nil media pointer", (*align.Media)(nil), "input of type *align.Media"},
		{"no sample rate", align.Media{StreamID: "s", Modality: align.Audio, Samples: []float32{0}}, "sample rate"},
		{"no samples", align.Media{StreamID: "s", Modality: align.Audio, SampleRate: rate}, "without samples"},
		{"segment without stream", align.Segment{End: 1}, "stream id"},
		{"segment backwards", align.Segment{StreamID: "s", Start: 2, End: 1}, "before it starts"},
		{"nil input", nil, "input of type <nil>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAligner(t, align.Config{})
			ws, err := a.Add(tc.in)
			if !errors.Is(err, align.ErrInvalid) || !strings.Contains(err.Error(), tc.why) || len(ws) != 0 {
				t.Errorf("Add = %v, %v; want ErrInvalid mentioning %q", ws, err, tc.why)
			}
			if st := a.Stats(); st != (align.Stats{Invalid: 1}) {
				t.Errorf("stats %+v, want Invalid 1 only", st)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   align.Config
		field string // "" when valid
	}{
		{"zero", align.Config{}, ""},
		{"sliding defaults", align.Config{Policy: align.Sliding}, ""},
		{"sliding size below default hop", align.Config{Policy: align.Sliding, Size: 500 * ms}, ""},
		{"unknown policy", align.Config{Policy: "tumbling"}, "Config.Policy"},
		{"size with utterance", align.Config{Size: time.Second}, "sliding policy only"},
		{"negative lateness", align.Config{AllowedLateness: -1}, "Config.AllowedLateness"},
		{"negative wait", align.Config{MaxWait: -1}, "Config.MaxWait"},
		{"negative idle", align.Config{IdleTimeout: -1}, "Config.IdleTimeout"},
		{"negative size", align.Config{Policy: align.Sliding, Size: -1}, "Config.Size"},
		{"negative cap", align.Config{MaxBuffered: -1}, "Config.MaxBuffered"},
		{"hop above size", align.Config{Policy: align.Sliding, Size: time.Second, Hop: 2 * time.Second}, "Config.Hop"},
		{"offset at hop", align.Config{Policy: align.Sliding, Hop: time.Second, Offset: time.Second}, "Config.Offset"},
		{"unknown expected modality", align.Config{Expect: 1 << 5}, "Config.Expect"},
		{"start_ms numbering", align.Config{Numbering: align.StartMillis}, ""},
		{"start_ms with sliding", align.Config{Policy: align.Sliding, Numbering: align.StartMillis}, "utterance policy only"},
		{"unknown numbering", align.Config{Numbering: "random"}, "Config.Numbering"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if (err == nil) != (tc.field == "") || (err != nil && !strings.Contains(err.Error(), tc.field)) {
				t.Errorf("Validate = %v, want an error naming %q", err, tc.field)
			}
			if _, nerr := align.New(tc.cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New = %v, Validate = %v", nerr, err)
			}
		})
	}
}

func TestModalities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set  align.Modalities
		want string
	}{
		{0, "none"},
		{align.Of(align.Vision), "vision"},
		{align.Of(align.Vision, align.Text), "text+vision"},
		{align.Of(align.Audio, align.Text, align.Vision), "text+audio+vision"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := tc.set.String(); got != tc.want {
				t.Errorf("String = %q, want %q", got, tc.want)
			}
		})
	}
	for _, m := range []align.Modality{align.Text, align.Audio, align.Vision} {
		if got, err := align.ParseModality(m.String()); err != nil || got != m {
			t.Errorf("ParseModality(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := align.ParseModality("smell"); !errors.Is(err, align.ErrInvalid) {
		t.Errorf("ParseModality(smell) = %v, want ErrInvalid", err)
	}
}

// TestAudioTrim checks the samples kept at 44.1 kHz, where sample i lies at
// i/44100 s: a window [s, e) keeps samples ceil(s*44100) to ceil(e*44100)-1.
func TestAudioTrim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		start, end time.Duration
		first, n   int
		at         time.Duration // Time of the first kept sample, rounded down
	}{
		{"exact half", 500 * ms, 750 * ms, 22050, 11025, 500 * ms},
		{"exact 10 ms", 10 * ms, 20 * ms, 441, 441, 10 * ms},
		// ceil(44.1) = 45 and ceil(88.2) = 89; 45/44100 s = 1020408.16 ns.
		{"inexact 1 ms", 1 * ms, 2 * ms, 45, 44, 1020408},
		// The window reaches far past the chunk: every sample from 0.9 s.
		{"past the end", 900 * ms, align.MaxEventTime, 39690, 4410, 900 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			samples := make([]float32, 44100)
			for i := range samples {
				samples[i] = float32(i)
			}
			a := newAligner(t, align.Config{})
			chunk := align.Media{StreamID: "s", Modality: align.Audio, Samples: samples, SampleRate: 44100}
			mustAdd(t, a, &chunk)
			ws := mustAdd(t, a, &align.Segment{StreamID: "s", Start: tc.start, End: tc.end, Text: "a", Final: true})
			if tc.end > time.Second {
				ws = a.Flush() // the audio watermark never reaches the end
			}
			if len(ws) != 1 || len(ws[0].Audio) != 1 {
				t.Fatalf("windows %+v, want one with one chunk", ws)
			}
			c := ws[0].Audio[0]
			if int(c.Samples[0]) != tc.first || len(c.Samples) != tc.n || c.Time != tc.at {
				t.Errorf("kept %d samples from %v at %v, want %d from %d at %v", len(c.Samples), c.Samples[0], c.Time, tc.n, tc.first, tc.at)
			}
		})
	}
}

// TestRefs follows the Refs of an utterance's inputs: into the window, and
// back from Released once the aligner lets each go.
func TestRefs(t *testing.T) {
	t.Parallel()
	a := newAligner(t, align.Config{})
	released := func() []any { return a.Released() }
	for i := range 6 {
		mustAdd(t, a, align.WithRef(audio("s", 100*i, 100*(i+1)), fmt.Sprint("a", i)))
	}
	mustAdd(t, a, align.WithRef(seg("s", 100, 300, "he", "x", false), "d1"))
	// The draft pins the buffer at 100: chunk a0 goes.
	if got := released(); !slices.Equal(got, []any{"a0"}) {
		t.Errorf("after the first draft: released %v, want [a0]", got)
	}
	mustAdd(t, a, align.WithRef(seg("s", 100, 400, "hell", "x", false), "d2"))
	if got := released(); !slices.Equal(got, []any{"d1"}) {
		t.Errorf("after the second draft: released %v, want [d1]", got)
	}
	if _, err := a.Add(align.WithRef(audio("s", 0, 50), "late")); !errors.Is(err, align.ErrLate) {
		t.Fatalf("late chunk: %v", err)
	}
	ws := mustAdd(t, a, align.WithRef(&align.Segment{StreamID: "s", Start: 100 * ms, End: 500 * ms, Text: "hello", Final: true}, "f"))
	if len(ws) != 1 || !slices.Equal(ws[0].Refs, []any{"f", "a1", "a2", "a3", "a4"}) {
		t.Fatalf("windows %+v, want one holding f and a1..a4", ws)
	}
	// The final replaces draft d2; its window went out, and the chunks
	// before 500 are pruned. The late chunk was never kept.
	if got := released(); !slices.Equal(got, []any{"d2", "f", "a1", "a2", "a3", "a4"}) {
		t.Errorf("after the final: released %v", got)
	}
	if ws := a.Flush(); len(ws) != 0 {
		t.Errorf("Flush emitted %+v", ws)
	}
	if got := released(); !slices.Equal(got, []any{"a5"}) {
		t.Errorf("after Flush: released %v, want [a5]", got)
	}
}

// TestFrameInterval checks that a frame announcing the time to the next one
// (Media.Interval) lets a window close once that time passes its end, without
// waiting for a frame at or after the end; that without it the window waits;
// and that a frame arriving earlier than announced is not late.
func TestFrameInterval(t *testing.T) {
	t.Parallel()
	spaced := func(interval time.Duration, times ...int) []align.Input {
		var in []align.Input
		for _, at := range times {
			f := frame("s", at)
			f.Interval = interval
			in = append(in, f)
		}
		return in
	}
	// The segment comes before the frames: it waits for both watermarks.
	expect := align.Config{Expect: align.Of(align.Audio, align.Vision)}
	utterance := []align.Input{seg("s", 200, 500, "hello", "ann", true)}
	want := []summary{{Stream: "s", Seq: 0, Start: 200, End: 500, Text: "hello", Speaker: "ann", Present: "text+audio+vision", Audio: "200-499/3", Frames: "200,300,400"}}
	runAll(t, []scenario{
		{
			// The frame at 400 says the next comes at 500: the window
			// [200, 500) has all its frames.
			name: "announced interval closes the window",
			cfg:  expect,
			in:   concat(audioRun("s", 0, 600, 100), utterance, spaced(100*ms, 200, 300, 400)),
			want: want,
			// Audio before the utterance is unused.
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 9, Segments: 1, Windows: 1, Unused: 2},
		},
		{
			name:  "without an interval the window waits for a frame at its end",
			cfg:   expect,
			in:    concat(audioRun("s", 0, 600, 100), utterance, frames("s", 200, 500, 100)),
			stats: align.Stats{Streams: 1, Buffered: 7, Media: 9, Segments: 1, Unused: 2},
		},
		{
			// The frame at 450 comes before the 500 the frame at 400
			// announced (jitter), after the window closed: late, like any
			// item that misses its window, and nothing else changes.
			name:  "a frame earlier than announced is late",
			cfg:   expect,
			in:    concat(audioRun("s", 0, 600, 100), utterance, spaced(100*ms, 200, 300, 400, 450)),
			want:  want,
			late:  []int{10},
			stats: align.Stats{Streams: 1, Buffered: 1, Media: 9, Segments: 1, Windows: 1, Late: 1, Unused: 2},
		},
	})
}

func TestFrameIntervalInvalid(t *testing.T) {
	t.Parallel()
	a := newAligner(t, align.Config{})
	f := frame("s", 0)
	f.Interval = -ms
	if _, err := a.Add(f); !errors.Is(err, align.ErrInvalid) || !strings.Contains(err.Error(), "frame interval") {
		t.Fatalf("Add of a negative interval = %v, want ErrInvalid naming the frame interval", err)
	}
}

// TestNumbering pins the windows' numbers, and so the event ids built from
// them, for the transcripts of a stream-offset and a wall-clock stream:
// Count gives 0, 1, ...; StartMillis gives the segment's start in ms since
// the stream's start (offsets) or since the Unix epoch (wall-clock times,
// Origin plus Start). Every window carries its stream's origin.
func TestNumbering(t *testing.T) {
	t.Parallel()
	origin := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) // 1795773600000 ms after the epoch
	offsets := []align.Input{seg("off", 1200, 1800, "one", "a", true), seg("off", 2500, 3000, "two", "a", true)}
	var wall []align.Input
	for _, in := range []align.Segment{seg("wall", 1200, 1800, "one", "a", true), seg("wall", 2500, 3000, "two", "a", true)} {
		in.Origin, in.WallClock = origin, true
		wall = append(wall, in)
	}
	tests := []struct {
		numbering align.Numbering
		in        []align.Input
		want      []uint64
		origin    time.Time
	}{
		{align.Count, offsets, []uint64{0, 1}, time.Time{}},
		{align.StartMillis, offsets, []uint64{1200, 2500}, time.Time{}},
		{align.Count, wall, []uint64{0, 1}, origin},
		{align.StartMillis, wall, []uint64{1795773601200, 1795773602500}, origin},
	}
	for _, tc := range tests {
		a, err := align.New(align.Config{Numbering: tc.numbering, Now: newClock().now})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, in := range tc.in {
			ws, err := a.Add(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				got = append(got, w.Seq)
				if !w.Origin.Equal(tc.origin) {
					t.Errorf("%s window %d origin %v, want %v", tc.numbering, w.Seq, w.Origin, tc.origin)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s numbering of %s: %v, want %v", tc.numbering, tc.in[0].(align.Segment).StreamID, got, tc.want)
		}
	}
	// A wall-clock segment without an origin cannot be numbered.
	a, _ := align.New(align.Config{Numbering: align.StartMillis})
	if _, err := a.Add(align.Segment{StreamID: "s", End: ms, Final: true, WallClock: true}); !errors.Is(err, align.ErrInvalid) {
		t.Errorf("wall-clock segment without origin: %v, want ErrInvalid", err)
	}
}

// TestEnd checks that ending a stream (Aligner.End, and an End input)
// emits its held windows at once, forced when their audio had not arrived,
// forgets only that stream and releases what it held, the End's Ref
// included.
func TestEnd(t *testing.T) {
	t.Parallel()
	c := newClock()
	a := newAligner(t, align.Config{Expect: align.Of(align.Audio), MaxWait: time.Hour, IdleTimeout: time.Hour, Now: c.now})
	for _, id := range []string{"call", "other"} {
		for i := range 10 {
			mustAdd(t, a, align.WithRef(audio(id, 100*i, 100*(i+1)), fmt.Sprint(id, i)))
		}
		// The utterance ends after the audio so far: its window waits.
		if ws := mustAdd(t, a, align.WithRef(seg(id, 200, 1500, "bye", "customer", true), id+"-seg")); len(ws) != 0 {
			t.Fatalf("stream %s: the waiting utterance emitted %+v", id, summarize(t, ws))
		}
	}
	_ = a.Released()
	ws := mustAdd(t, a, align.End{StreamID: "call", Ref: "end"})
	want := []summary{{Stream: "call", Seq: 0, Start: 200, End: 1500, Text: "bye", Speaker: "customer", Present: "text+audio", Forced: true, Audio: "200-999/8"}}
	if got := summarize(t, ws); !slices.Equal(got, want) {
		t.Errorf("End emitted\n %+v\nwant\n %+v", got, want)
	}
	released := a.Released()
	slices.SortFunc(released, func(x, y any) int { return strings.Compare(x.(string), y.(string)) })
	if want := []any{"call-seg", "call2", "call3", "call4", "call5", "call6", "call7", "call8", "call9", "end"}; !slices.Equal(released, want) {
		t.Errorf("released %v, want %v", released, want)
	}
	if st := a.Stats(); st.Streams != 1 || st.Ended != 1 || st.Expired != 0 || st.Windows != 1 || st.Forced != 1 {
		t.Errorf("after End: %+v, want the other stream held, one ended, one forced window", st)
	}
	// Ending a stream twice, or one never seen, does nothing.
	if ws := a.End("call"); ws != nil {
		t.Errorf("second End emitted %+v", ws)
	}
	if ws := a.End("never"); ws != nil || a.Stats().Ended != 1 {
		t.Errorf("End of an unknown stream emitted %+v, stats %+v", ws, a.Stats())
	}
	if _, err := a.Add(align.End{}); !errors.Is(err, align.ErrInvalid) {
		t.Errorf("End without stream id: %v, want ErrInvalid", err)
	}
	// The other stream still waits for its audio, and gets it.
	if ws := mustAdd(t, a, audio("other", 1000, 1600)); len(ws) != 1 || ws[0].Forced || ws[0].StreamID != "other" {
		t.Errorf("the other stream's window: %+v", summarize(t, ws))
	}
	// An input after the end starts the stream afresh.
	mustAdd(t, a, audio("call", 2000, 2100))
	if st := a.Stats(); st.Streams != 2 {
		t.Errorf("after new input: %d streams, want 2", st.Streams)
	}
}

// TestEndSliding checks that ending a stream emits the sliding windows its
// buffered audio falls into, as Flush does, and no more.
func TestEndSliding(t *testing.T) {
	t.Parallel()
	a := newAligner(t, align.Config{Policy: align.Sliding, Size: 1000 * ms, Hop: 500 * ms, Expect: align.Of(align.Audio), MaxWait: time.Hour})
	in := concat([]align.Input{seg("s", 0, 1100, "hello there", "agent", true)}, audioRun("s", 0, 1200, 100))
	got, errs := feed(t, a, in)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	got = append(got, a.End("s")...)
	want := []summary{
		{Stream: "s", Seq: 0, Start: 0, End: 1000, Text: "hello there", Speaker: "agent", Present: "text+audio", Audio: "0-999/10"},
		{Stream: "s", Seq: 1, Start: 500, End: 1500, Text: "hello there", Speaker: "agent", Present: "text+audio", Forced: true, Audio: "500-1199/7"},
		{Stream: "s", Seq: 2, Start: 1000, End: 2000, Text: "hello there", Speaker: "agent", Present: "text+audio", Forced: true, Audio: "1000-1199/2"},
	}
	if s := summarize(t, got); !slices.Equal(s, want) {
		t.Errorf("windows\n %+v\nwant\n %+v", s, want)
	}
	if st := a.Stats(); st.Streams != 0 || st.Buffered != 0 || st.Ended != 1 {
		t.Errorf("after End: %+v", st)
	}
}

// TestNeeds checks when a frame may still fall into a scored window: under
// the utterance policy, with the customer's utterance [0, 2) s and the
// agent's [2, 4) s pending (vision awaited), a frame before the text
// watermark (4 s) is needed only inside the customer's utterance; at or
// after the watermark, within the allowed lateness, in a stream without
// text or under the sliding policy, any frame is.
func TestNeeds(t *testing.T) {
	const ms = time.Millisecond
	customer := func(speaker string) bool { return speaker == "customer" }
	build := func(cfg align.Config) *align.Aligner {
		a := newAligner(t, cfg)
		feed(t, a, []align.Input{seg("s", 0, 2000, "my order", "customer", true), seg("s", 2000, 4000, "I see", "agent", true)})
		return a
	}
	clk := newClock()
	utt := build(align.Config{Expect: align.Of(align.Vision), MaxWait: time.Hour, Now: clk.now})
	late := build(align.Config{Expect: align.Of(align.Vision), MaxWait: time.Hour, AllowedLateness: 2 * time.Second, Now: clk.now})
	sliding := build(align.Config{Policy: align.Sliding, Size: time.Second, Hop: time.Second, Expect: align.Of(align.Vision), Now: clk.now})
	for _, tc := range []struct {
		name   string
		a      *align.Aligner
		stream string
		at     time.Duration
		want   bool
	}{
		{"customer's utterance", utt, "s", 1000 * ms, true},
		{"agent's utterance", utt, "s", 3000 * ms, false},
		{"agent's utterance, last instant", utt, "s", 3999 * ms, false},
		{"at the watermark", utt, "s", 4000 * ms, true},
		{"within the lateness", late, "s", 3000 * ms, true},
		{"before the lateness, the customer's utterance", late, "s", 1999 * ms, true},
		{"stream without text", utt, "other", 3000 * ms, true},
		{"sliding", sliding, "s", 3000 * ms, true},
	} {
		if got := tc.a.Needs(tc.stream, tc.at, customer); got != tc.want {
			t.Errorf("%s: Needs(%q, %v) = %v, want %v", tc.name, tc.stream, tc.at, got, tc.want)
		}
	}
	// Once the customer's window is out, nothing before the watermark is
	// needed: a frame there would be late.
	feed(t, utt, []align.Input{frame("s", 5000)})
	if utt.Needs("s", 1000*ms, customer) {
		t.Error("Needs at 1 s after the customer's window was emitted = true, want false")
	}
}
