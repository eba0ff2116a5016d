package app

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// telephonyCall is the call of the telephony tests, made with ffmpeg from
// the demo speech: an 8 kHz stereo G.711 mu-law recording whose channel 0
// (the agent) is the showcase clip played backwards and channel 1 (the
// customer) the showcase clip, and the customer channel decoded to 16-bit
// PCM by ffmpeg.
type telephonyCall struct {
	stereo   []byte // mu-law, interleaved agent, customer
	customer []byte // pcm16le, the customer channel as ffmpeg decodes it
}

// makeTelephonyCall runs ffmpeg to encode and decode the call; it skips
// the test when ffmpeg is missing (scripts/setup.sh installs it).
func makeTelephonyCall(t *testing.T) telephonyCall {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	stereo := filepath.Join(dir, "call.ulaw")
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).Output()
		if err != nil {
			t.Fatalf("ffmpeg %v: %v", args, err)
		}
		return out
	}
	run("-i", "../../demo/media/showcase.wav", "-filter_complex", "[0:a]asplit[c][a];[a]areverse[r];[r][c]join=inputs=2:channel_layout=stereo[out]",
		"-map", "[out]", "-ar", "8000", "-f", "mulaw", stereo)
	var c telephonyCall
	if c.stereo, err = os.ReadFile(stereo); err != nil {
		t.Fatal(err)
	}
	c.customer = run("-f", "mulaw", "-ar", "8000", "-ac", "2", "-i", stereo, "-af", "pan=mono|c0=c1", "-f", "s16le", "-")
	if len(c.customer) != len(c.stereo) || len(c.stereo) < 8000*2*20 {
		t.Fatalf("call of %d stereo bytes, customer %d bytes; want 2 bytes of PCM per mu-law frame, 20 s at least", len(c.stereo), len(c.customer))
	}
	return c
}

// showcaseSegments returns the final segments of the showcase transcript
// spoken by speaker in stream, and, for the agent, three more.
func showcaseSegments(t *testing.T, stream string) []record {
	t.Helper()
	raw, err := os.ReadFile("../../demo/showcase_transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for line := range strings.Lines(string(raw)) {
		var u struct {
			Start, End float64
			Text       string
		}
		if err := json.Unmarshal([]byte(line), &u); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, record{stream, fmt.Sprintf(`{"stream_id":%q,"speaker":"customer","start":%g,"end":%g,"text":%q,"final":true}`, stream, u.Start, u.End, u.Text)})
	}
	// The agent speaks in the customer's pauses (demo/showcase_transcript.jsonl:
	// after 4.560, 11.879 and 28.523 s; the clip ends at 29.122 s).
	for _, a := range [][2]float64{{4.6, 5.1}, {12, 12.4}, {28.6, 29.1}} {
		recs = append(recs, record{stream, fmt.Sprintf(`{"stream_id":%q,"speaker":"agent","start":%g,"end":%g,"text":"I see, let me check that for you","final":true}`, stream, a[0], a[1])})
	}
	return recs
}

// interleave returns chunks (each chunkSeconds long, in order) and the
// segments in the order a live feed sends them: each segment after the
// chunk that holds its end.
func interleave(chunks []record, chunkSeconds float64, segs []record) []record {
	var out []record
	ends := make([]float64, len(segs))
	for i, s := range segs {
		var v struct{ End float64 }
		_ = json.Unmarshal([]byte(s.value), &v)
		ends[i] = v.End
	}
	sent := make([]bool, len(segs))
	for c, chunk := range chunks {
		out = append(out, chunk)
		for i, s := range segs {
			if !sent[i] && (ends[i] <= float64(c+1)*chunkSeconds || c == len(chunks)-1) {
				out, sent[i] = append(out, s), true
			}
		}
	}
	return out
}

// telephonyRun produces the records to a new broker, runs the demo model on
// them with extra config, and returns the events once want arrived.
func telephonyRun(t *testing.T, recs []record, extra string, want int) ([]event.Event, Summary) {
	t.Helper()
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	produce(t, addr, inTopic, recs...)
	cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  transcripts:
    kafka:
      brokers: [%q]
      topic: %s
      group: cmc-test
      session_timeout: 3s
      heartbeat_interval: 200ms
      rebalance_timeout: 3s
%s
window: {policy: utterance, max_wait: 200ms}
sinks:
  kafka: {brokers: [%q], topic: %s, batch_timeout: 5ms}
privacy: {roles: [customer]}
%s`, addr, inTopic, extra, addr, outTopic, testAssetsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	poll(t, "events", func() error { return errCount("events", len(events(t, addr)), want) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return events(t, addr), app.Summary()
}

// TestStereoMuLawCall sends an 8 kHz stereo G.711 mu-law call over Kafka
// with channels {0: agent, 1: customer} and privacy.roles [customer], and
// the same call's customer channel decoded to PCM16 by ffmpeg as a mono
// stream: the customer's events match within 1e-3, and the agent's channel
// yields no event, nor even a window.
func TestStereoMuLawCall(t *testing.T) {
	call := makeTelephonyCall(t)
	const rate, chunkSeconds = 8000, 0.5
	frames := int(rate * chunkSeconds)
	var stereo, mono []record
	for c := 0; c*frames < len(call.stereo)/2; c++ {
		lo, hi := c*frames, min((c+1)*frames, len(call.stereo)/2)
		stereo = append(stereo, record{"call", fmt.Sprintf(`{"stream_id":"call","start":%g,"sample_rate":%d,"encoding":"mulaw","channels":2,"samples":%q}`,
			float64(c)*chunkSeconds, rate, base64.StdEncoding.EncodeToString(call.stereo[2*lo:2*hi]))})
		mono = append(mono, audioChunk("call", float64(c)*chunkSeconds, rate, "pcm16le", base64.StdEncoding.EncodeToString(call.customer[2*lo:2*hi])))
	}
	segs := showcaseSegments(t, "call")
	got, sum := telephonyRun(t, interleave(stereo, chunkSeconds, segs), "      channels: {0: agent, 1: customer}", 7)
	ref, _ := telephonyRun(t, interleave(mono, chunkSeconds, segs), "", 7)
	if sum.Windows != 7 || sum.Filtered != 0 {
		// privacy.roles: the agent's channel and segments stop at the
		// source, so the agent has no window to filter.
		t.Errorf("%d windows, %d filtered; want the customer's 7 only", sum.Windows, sum.Filtered)
	}
	// Offsets in both feeds: the windows' wall-clock times differ by the
	// runs' start, their sequence numbers (start in ms) do not.
	byStart := func(a, b event.Event) int { return int(a.Window.Seq) - int(b.Window.Seq) }
	slices.SortFunc(got, byStart)
	slices.SortFunc(ref, byStart)
	for i := range got {
		g, r := got[i], ref[i]
		if g.StreamID != "call" || g.Speaker != "customer" || g.EventID != r.EventID {
			t.Errorf("event %s: stream %q speaker %q, want a customer event of stream call", g.EventID, g.StreamID, g.Speaker)
		}
		if !g.Modalities.Audio.Present || !r.Modalities.Audio.Present {
			t.Errorf("event %s: audio present %v, reference %v", g.EventID, g.Modalities.Audio.Present, r.Modalities.Audio.Present)
			continue
		}
		if g.Window.Seq != r.Window.Seq || g.Window.End.Sub(g.Window.Start) != r.Window.End.Sub(r.Window.Start) || g.Transcript != r.Transcript {
			t.Errorf("event %d: window %d of %v %q, reference %d of %v %q", i, g.Window.Seq, g.Window.End.Sub(g.Window.Start), g.Transcript,
				r.Window.Seq, r.Window.End.Sub(r.Window.Start), r.Transcript)
		}
		for _, p := range [][2]*event.Probs{{&g.Probs, &r.Probs}, {g.Modalities.Audio.Probs, r.Modalities.Audio.Probs}} {
			if d := max(math.Abs(p[0].Negative-p[1].Negative), math.Abs(p[0].Neutral-p[1].Neutral), math.Abs(p[0].Positive-p[1].Positive)); d > 1e-3 {
				t.Errorf("event %s: probs %+v, reference %+v (differ by %g)", g.EventID, *p[0], *p[1], d)
			}
		}
	}
}

// TestG711AudioFiles plays the showcase as 8 kHz G.711 WAV files (mu-law
// and A-law, made with ffmpeg) through the audio file source (ffmpeg decodes
// them, at their own rate, which the recipe resamples once), and the same
// audio decoded to PCM16 WAV by ffmpeg beforehand (read by the WAV reader):
// the events' audio probabilities match within 1e-3.
func TestG711AudioFiles(t *testing.T) {
	dir, ff := t.TempDir(), ffmpegCommand(t, "-t", "9")
	show := "../../demo/media/showcase.wav"
	mulaw, alaw := filepath.Join(dir, "call-mulaw.wav"), filepath.Join(dir, "call-alaw.wav")
	ff("-i", show, "-ar", "8000", "-c:a", "pcm_mulaw", mulaw)
	ff("-i", show, "-ar", "8000", "-c:a", "pcm_alaw", alaw)
	run := func(file string) []event.Event {
		t.Helper()
		cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  audio: [{stream_id: showcase, file: %q, sample_rate: 8000, realtime: false}]
  transcripts: {file: ../../demo/showcase_segments.jsonl}
window: {policy: utterance, max_wait: 2s}
sinks: {stdout: {}}
%s`, file, testAssetsYAML)))
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := eventsOfFiles(t, cfg, Options{})
		return evs
	}
	for _, file := range []string{mulaw, alaw} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			pcm := strings.TrimSuffix(file, ".wav") + "-pcm16.wav"
			ff("-i", file, "-c:a", "pcm_s16le", pcm)
			got, ref := run(file), run(pcm)
			if len(got) != len(ref) {
				t.Fatalf("%d events, reference %d", len(got), len(ref))
			}
			compared := 0
			for i := range got {
				g, r := got[i].Modalities.Audio, ref[i].Modalities.Audio
				if g.Present != r.Present {
					t.Fatalf("event %s: audio present %v, reference %v", got[i].EventID, g.Present, r.Present)
				}
				if !g.Present {
					continue // an utterance after the 9 s of audio
				}
				compared++
				if d := max(math.Abs(g.Probs.Negative-r.Probs.Negative), math.Abs(g.Probs.Positive-r.Probs.Positive)); d > 1e-3 {
					t.Errorf("event %s: audio probs %+v, reference %+v", got[i].EventID, *g.Probs, *r.Probs)
				}
			}
			if compared < 2 {
				t.Errorf("%d events with audio, want the first 9 s's 2 utterances", compared)
			}
		})
	}
}

// TestCallEndBothParties sends the first 4 s of the stereo mu-law call over
// Kafka with channels {0: agent, 1: customer} and no privacy roles, each
// party speaking [0, 1.5) and [2, 4.5) s, then the end-of-call marker. The
// last two windows end after the call's audio, so with max_wait and
// idle_timeout of an hour only the end of the call can close them: all
// four events arrive, and the two parties' windows that start in the same
// millisecond have distinct ids (event.PartyID, the schema's
// <stream>/utt/<seq>/<speaker>).
func TestCallEndBothParties(t *testing.T) {
	call := makeTelephonyCall(t)
	const rate, chunkSeconds, seconds = 8000, 0.5, 4
	frames := int(rate * chunkSeconds)
	var chunks []record
	for c := range int(seconds / chunkSeconds) {
		chunks = append(chunks, record{"call", fmt.Sprintf(`{"stream_id":"call","start":%g,"sample_rate":%d,"encoding":"mulaw","channels":2,"samples":%q}`,
			float64(c)*chunkSeconds, rate, base64.StdEncoding.EncodeToString(call.stereo[2*c*frames:2*(c+1)*frames]))})
	}
	var segs []record
	for _, who := range []string{"agent", "customer"} {
		for _, span := range [][2]float64{{0, 1.5}, {2, 4.5}} {
			segs = append(segs, record{"call", fmt.Sprintf(`{"stream_id":"call","speaker":%q,"start":%g,"end":%g,"text":"the screen shows the time","final":true}`,
				who, span[0], span[1])})
		}
	}
	recs := append(interleave(chunks, chunkSeconds, segs), record{"call", `{"stream_id":"call","end_of_call":true}`})
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	produce(t, addr, inTopic, recs...)
	cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  transcripts:
    kafka: {brokers: [%q], topic: %s, group: cmc-test, session_timeout: 3s, heartbeat_interval: 200ms, rebalance_timeout: 3s,
      channels: {0: agent, 1: customer}}
window: {policy: utterance, max_wait: 1h, idle_timeout: 1h}
sinks: {stdout: {}}
%s`, addr, inTopic, testAssetsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	app, stop, _ := startApp(t, cfg, Options{Extra: []pipeline.Sink[event.Event]{got}})
	poll(t, "events", func() error { return errCount("events", len(got.events()), 4) })
	if st := app.aligner.Stats(); st.Ended < 2 || st.Expired != 0 {
		t.Errorf("aligner stats %+v: want both parties' streams ended, none expired", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got.events() {
		if e.StreamID != "call" || !e.Modalities.Audio.Present {
			t.Errorf("event %s: stream %q, audio %v; want the call's, with audio", e.EventID, e.StreamID, e.Modalities.Audio.Present)
		}
		if err := e.Validate(); err != nil {
			t.Error(err)
		}
		ids = append(ids, e.EventID)
	}
	slices.Sort(ids)
	want := []string{"call/utt/0/agent", "call/utt/0/customer", "call/utt/2000/agent", "call/utt/2000/customer"}
	if !slices.Equal(ids, want) {
		t.Errorf("event ids %q, want %q", ids, want)
	}
}

// TestStereoMuLawFile plays an 8 kHz stereo G.711 mu-law WAV file, made
// with ffmpeg from the demo speech with the agent's channel 0 silent and
// the customer's channel 1 the showcase clip, with channels {0: agent, 1:
// customer} and privacy.roles [customer]; and the customer channel decoded
// to a mono PCM16 WAV file by ffmpeg beforehand, run as a plain file. The
// customer's events match the reference's within 1e-3, and the agent
// has no event, nor even a window: its channel and its segments stop at
// the source.
func TestStereoMuLawFile(t *testing.T) {
	dir, ff := t.TempDir(), ffmpegCommand(t)
	stereo, mono := filepath.Join(dir, "call.wav"), filepath.Join(dir, "customer.wav")
	ff("-i", "../../demo/media/showcase.wav", "-af", "pan=stereo|c0=0*c0|c1=c0", "-ar", "8000", "-c:a", "pcm_mulaw", stereo)
	ff("-i", stereo, "-af", "pan=mono|c0=c1", "-c:a", "pcm_s16le", mono)
	var segs strings.Builder
	for _, r := range showcaseSegments(t, "call") {
		segs.WriteString(r.value + "\n")
	}
	transcript := filepath.Join(dir, "call.jsonl")
	if err := os.WriteFile(transcript, []byte(segs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(file, channels string) ([]event.Event, Summary) {
		t.Helper()
		cfg, err := DecodeConfig([]byte(fmt.Sprintf(`
model: {bundle: ../../demo/model}
sources:
  audio: [{stream_id: call, file: %q, sample_rate: 8000, realtime: false%s}]
  transcripts: {file: %q}
window: {policy: utterance, max_wait: 2s}
sinks: {stdout: {}}
privacy: {roles: [customer]}
%s`, file, channels, transcript, testAssetsYAML)))
		if err != nil {
			t.Fatal(err)
		}
		return eventsOfFiles(t, cfg, Options{})
	}
	got, sum := run(stereo, ", channels: {0: agent, 1: customer}")
	ref, _ := run(mono, "")
	if sum.Windows != 7 || sum.Filtered != 0 {
		// privacy.roles: the agent's channel and segments stop at the
		// source, so the agent has no window to filter.
		t.Errorf("%d windows, %d filtered; want the customer's 7 only", sum.Windows, sum.Filtered)
	}
	if len(got) != 7 || len(ref) != 7 {
		t.Fatalf("%d events, reference %d; want the customer's 7 utterances", len(got), len(ref))
	}
	// The runs' origins differ: compare each event's window to its run's first.
	for i := range got {
		g, r := got[i], ref[i]
		if g.StreamID != "call" || g.Speaker != "customer" {
			t.Errorf("event %s: stream %q speaker %q, want a customer event of stream call", g.EventID, g.StreamID, g.Speaker)
		}
		if !g.Modalities.Audio.Present || !r.Modalities.Audio.Present {
			t.Errorf("event %s: audio present %v, reference %v", g.EventID, g.Modalities.Audio.Present, r.Modalities.Audio.Present)
			continue
		}
		if g.Window.Start.Sub(got[0].Window.Start) != r.Window.Start.Sub(ref[0].Window.Start) ||
			g.Window.End.Sub(g.Window.Start) != r.Window.End.Sub(r.Window.Start) || g.Transcript != r.Transcript {
			t.Errorf("event %d: window of %v %q, reference %v %q", i, g.Window.End.Sub(g.Window.Start), g.Transcript, r.Window.End.Sub(r.Window.Start), r.Transcript)
		}
		for _, p := range [][2]*event.Probs{{&g.Probs, &r.Probs}, {g.Modalities.Audio.Probs, r.Modalities.Audio.Probs}} {
			if d := max(math.Abs(p[0].Negative-p[1].Negative), math.Abs(p[0].Neutral-p[1].Neutral), math.Abs(p[0].Positive-p[1].Positive)); d > 1e-3 {
				t.Errorf("event %s: probs %+v, reference %+v (differ by %g)", g.EventID, *p[0], *p[1], d)
			}
		}
	}
}

// eventsOfFiles runs cfg, whose sources are files, to their end with opts,
// and returns its events in the order of their windows' start, and its
// summary.
func eventsOfFiles(t *testing.T, cfg *Config, opts Options) ([]event.Event, Summary) {
	t.Helper()
	cfg.Observability.Listen = ObservabilityDisabled // not the default port, which parallel tests share
	got := &collect{}
	opts.Extra = append(opts.Extra, got)
	app, err := Build(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := got.events()
	slices.SortFunc(evs, func(a, b event.Event) int { return a.Window.Start.Compare(b.Window.Start) })
	return evs, app.Summary()
}

// ffmpegCommand returns a function that runs ffmpeg with opts and its
// arguments, failing the test when it fails; it skips the test when ffmpeg
// is missing (scripts/setup.sh installs it).
func ffmpegCommand(t *testing.T, opts ...string) func(args ...string) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (scripts/setup.sh installs it)")
	}
	return func(args ...string) {
		t.Helper()
		args = append(append([]string{"-hide_banner", "-loglevel", "error", "-y"}, opts...), args...)
		if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v %s", args, err, out)
		}
	}
}
