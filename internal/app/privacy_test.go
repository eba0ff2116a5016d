package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// agentSecret is the text of the excluded speaker's segments in the privacy
// tests: it must appear in no window, event or log.
const agentSecret = "agentsecret"

// TestPrivacyTextBeforeAlignment runs the showcase with sliding windows and
// privacy.roles [customer], the agent speaking (interim and final
// segments) in the customer's pauses: the customer's windows that overlap
// the agent's segments are scored without the agent's text, and the text
// reaches neither an event nor the log; the windows the agent dominates
// are filtered.
func TestPrivacyTextBeforeAlignment(t *testing.T) {
	var lines strings.Builder
	for _, r := range showcaseSegments(t, "call") {
		v := strings.Replace(r.value, "I see, let me check that for you", agentSecret, 1)
		if strings.Contains(v, agentSecret) {
			// The interim segment a live recogniser sends first.
			lines.WriteString(strings.Replace(v, `"final":true`, `"final":false`, 1) + "\n")
		}
		lines.WriteString(v + "\n")
	}
	transcript := filepath.Join(t.TempDir(), "call.jsonl")
	if err := os.WriteFile(transcript, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  audio: [{stream_id: call, file: ../../demo/media/showcase.wav, realtime: false}]
  transcripts: {file: %q}
window: {policy: sliding, size: 3s, hop: 1s, max_wait: 2s}
sinks: {stdout: {}}
privacy: {roles: [customer]}
%s`, transcript, testAssetsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	log, stdout := &syncWriter{w: &bytes.Buffer{}}, &syncWriter{w: &bytes.Buffer{}}
	evs, sum := eventsOfFiles(t, cfg, Options{Stdout: stdout, Logger: testLogger(log)})
	overlapping := 0
	for _, e := range evs {
		if strings.Contains(e.Transcript, agentSecret) {
			t.Errorf("event %s of %s has the agent's text: %q", e.EventID, e.Speaker, e.Transcript)
		}
		// The agent speaks in [4.6, 5.1), [12, 12.4) and [28.6, 29.1) s;
		// evs[0] is the stream's first window, [0, 3) s.
		start := e.Window.Start.Sub(evs[0].Window.Start)
		for _, a := range [][2]time.Duration{{4600, 5100}, {12000, 12400}, {28600, 29100}} {
			if start < a[1]*time.Millisecond && start+3*time.Second > a[0]*time.Millisecond {
				overlapping++
			}
		}
	}
	if overlapping < 3 {
		t.Errorf("%d customer events overlap the agent's speech, want 3 or more (the test would prove nothing)", overlapping)
	}
	if sum.Filtered == 0 || sum.Events == 0 {
		t.Errorf("summary %+v: want events of the customer and filtered windows of the agent", sum)
	}
	for name, out := range map[string]string{"log": log.String(), "stdout": stdout.String()} {
		if strings.Contains(out, agentSecret) {
			t.Errorf("the agent's text is in the %s", name)
		}
	}
}

// TestPrivacyDropsExcludedChannels checks that the audio of a channel or a
// track whose role privacy.roles excludes stops where the audio is split,
// before the aligner: a stereo file's agent channel (a file of only
// excluded channels is not decoded at all), a stereo chunk's agent
// channel, and a Twilio-style mono chunk of the agent's track, which is
// acknowledged all the same.
func TestPrivacyDropsExcludedChannels(t *testing.T) {
	ff := ffmpegCommand(t)
	path := filepath.Join(t.TempDir(), "call.wav")
	ff("-t", "2", "-i", "../../demo/media/showcase.wav", "-af", "pan=stereo|c0=c0|c1=c0", "-ar", "8000", "-c:a", "pcm_mulaw", path)
	privacy := PrivacyConfig{Roles: []string{"customer"}}
	roles := ChannelRoles{0: "agent", 1: "customer"}
	ctx := context.Background()
	file := func(privacy PrivacyConfig) (streams map[string]int) {
		t.Helper()
		in := newAudioFileInput(AudioSource{StreamID: "call", File: path, SampleRate: 8000, Realtime: new(false), Channels: roles}, privacy,
			NewStreamClock(nil, time.Hour))
		if err := in.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		defer in.Close(ctx)
		streams = map[string]int{}
		for {
			item, _, err := in.Read(ctx)
			if errors.Is(err, pipeline.ErrEndOfInput) {
				return streams
			}
			if err != nil {
				t.Fatal(err)
			}
			streams[item.(align.Media).StreamID]++
		}
	}
	customer, agent := channelStream("call", "customer"), channelStream("call", "agent")
	// 2 s in chunks of 20 ms (media.DefaultChunkDuration).
	if got := file(PrivacyConfig{}); got[customer] != 100 || got[agent] != 100 || len(got) != 2 {
		t.Errorf("file without privacy roles: items per stream %v, want 100 of each party", got)
	}
	if got := file(privacy); got[customer] != 100 || len(got) != 1 {
		t.Errorf("file with privacy.roles [customer]: items per stream %v, want the customer's 100 only", got)
	}
	if got := file(PrivacyConfig{Roles: []string{"supervisor"}}); len(got) != 0 {
		t.Errorf("file of no scored channel: items per stream %v, want none", got)
	}

	stereo := event.AudioChunk{StreamID: "call", SampleRate: 8000, Channels: 2, Samples: []float32{0.5, -0.25, 0.5, -0.25}}
	mono := event.AudioChunk{StreamID: "call", SampleRate: 8000, Channels: 1, Samples: []float32{0.5, 0.5}}
	feed := &feedList{items: []feedItem{{audio: &stereo}, {audio: &mono, speaker: "agent"}, {audio: &mono, speaker: "customer"}}}
	in := &transcriptInput{src: feed, clock: NewStreamClock(nil, time.Hour), channels: roles.scored(privacy), parties: []string{"agent", "customer"},
		privacy: privacy, reject: func(context.Context, any, error) error { return nil }}
	var items []align.Media
	for {
		item, ack, err := in.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item.(align.Media))
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(items) != 2 || items[0].StreamID != customer || items[0].Samples[0] != -0.25 || items[1].StreamID != customer {
		t.Errorf("feed items %+v: want the stereo chunk's channel 1 and the customer track, in the customer's stream", items)
	}
	if feed.acked != 3 {
		t.Errorf("%d of 3 feed items acknowledged", feed.acked)
	}
}

// feedList is a feed of the given items, then pipeline.ErrEndOfInput; it
// counts the acknowledgements.
type feedList struct {
	items []feedItem
	acked int
}

func (f *feedList) Connect(context.Context) error { return nil }

func (f *feedList) Read(context.Context) (feedItem, pipeline.AckFunc, error) {
	if len(f.items) == 0 {
		return feedItem{}, nil, pipeline.ErrEndOfInput
	}
	it := f.items[0]
	f.items = f.items[1:]
	return it, func(context.Context, error) error { f.acked++; return nil }, nil
}

func (f *feedList) Close(context.Context) error { return nil }

// TestPrivacyVideoNotOpened builds a stereo call with a video source of the
// same stream: with privacy.roles naming only parties with a channel of
// their own, whose windows take no video, the video source is not opened
// and no vision extractor made (a warning says why); with a role of the
// shared stream, or none, it is.
func TestPrivacyVideoNotOpened(t *testing.T) {
	for _, tc := range []struct {
		roles string
		video int
	}{{"[customer]", 0}, {"[customer, agent]", 0}, {"[customer, supervisor]", 1}, {"[]", 1}} {
		cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  video: [{stream_id: call, device: ../../demo/media/showcase.mp4, realtime: false}]
  audio: [{stream_id: call, file: ../../demo/media/showcase.wav, realtime: false, channels: {0: agent, 1: customer}}]
sinks: {stdout: {}}
privacy: {roles: %s}
%s`, tc.roles, testAssetsYAML)))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Observability.Listen = ObservabilityDisabled
		log := &syncWriter{w: &bytes.Buffer{}}
		app, err := Build(cfg, Options{Logger: testLogger(log)})
		if err != nil {
			t.Fatal(err)
		}
		if len(app.videos) != tc.video || strings.Contains(log.String(), "video sources not opened") != (tc.video == 0) {
			t.Errorf("privacy.roles %s: %d video inputs, log %q; want %d", tc.roles, len(app.videos), log.String(), tc.video)
		}
		for _, v := range app.videos {
			if err := v.ex.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestPrivacySkipsFrames runs the vision stage with privacy.roles
// [customer] against an aligner holding the customer's utterance [0, 2) s
// and the agent's [2, 4) s, both waiting for vision: a frame of the
// showcase at 1 s gets its features from the expression model, the same
// frame at 3 s, which only the agent's window can take, is passed on
// without running vision (counted as skipped). Without roles every frame
// is extracted.
func TestPrivacySkipsFrames(t *testing.T) {
	a, err := align.New(align.Config{Expect: align.Of(align.Vision), MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []align.Segment{
		{StreamID: "call", Speaker: "customer", Start: 0, End: 2 * time.Second, Text: "my order", Final: true},
		{StreamID: "call", Speaker: "agent", Start: 2 * time.Second, End: 4 * time.Second, Final: true},
	} {
		if _, err := a.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := vision.New(vision.DefaultConfig(testNative.AssetsDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	var first video.Frame
	if _, err := video.ReadFile(t.Context(), "../../demo/media/showcase.mp4", video.Config{}, func(f video.Frame) error {
		if first.Pix == nil {
			first = f
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := &App{aligner: a}
	if app.framesNeeded(PrivacyConfig{}) != nil {
		t.Error("framesNeeded without roles is not nil: every frame should be extracted")
	}
	vi := &videoInput{stream: "call", ex: ex}
	stage := visionStage{needs: app.framesNeeded(PrivacyConfig{Roles: []string{"customer"}})}
	for _, tc := range []struct {
		at        time.Duration
		extracted bool
	}{{time.Second, true}, {3 * time.Second, false}} {
		out, err := stage.Process(t.Context(), align.Media{StreamID: "call", Modality: align.Vision, Time: tc.at,
			Payload: visionFrame{pix: first.Pix, width: first.Width, height: first.Height, in: vi}})
		if err != nil || len(out) != 1 {
			t.Fatalf("frame at %v: %d items, %v", tc.at, len(out), err)
		}
		m := out[0].(align.Media)
		if got := len(m.Features) == vision.Dims; got != tc.extracted || m.Payload != nil {
			t.Errorf("frame at %v: %d features, payload %T; want extracted %v, no payload", tc.at, len(m.Features), m.Payload, tc.extracted)
		}
	}
	if n := vi.skipped.Load(); n != 1 {
		t.Errorf("%d frames skipped, want 1 (the agent's)", n)
	}
}
