package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// recordedCall is the first two utterances of the demo showcase (0 to
// 8.8 s) as a phone call, made with ffmpeg: the customer's voice at 8 kHz
// mu-law and at 16 kHz PCM16, and the agent's (the same speech played
// backwards) at 8 kHz mu-law.
type recordedCall struct {
	customerMuLaw, agentMuLaw, customerPCM []byte
}

// callSeconds is the length of recordedCall.
const callSeconds = 8.8

func recordCall(t *testing.T) recordedCall {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (scripts/setup.sh installs it)")
	}
	run := func(args ...string) []byte {
		t.Helper()
		base := []string{"-hide_banner", "-loglevel", "error", "-t", fmt.Sprint(callSeconds), "-i", "../../demo/media/showcase.wav"}
		out, err := exec.Command(ffmpeg, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("ffmpeg %v: %v", args, err)
		}
		return out
	}
	return recordedCall{
		customerMuLaw: run("-ar", "8000", "-f", "mulaw", "-"),
		agentMuLaw:    run("-af", "areverse", "-ar", "8000", "-f", "mulaw", "-"),
		customerPCM:   run("-f", "s16le", "-"),
	}
}

// wsDial connects a real WebSocket client to the app's source.
func wsDial(t *testing.T, app *App, header http.Header) *websocket.Conn {
	t.Helper()
	poll(t, "the WebSocket source listening", func() error {
		if app.WebSocketAddr() == "" {
			return fmt.Errorf("not listening yet")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+app.WebSocketAddr()+"/stream", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// replay sends the messages of each step at its time from now, in real
// time, as the phone system would.
func replay(t *testing.T, c *websocket.Conn, steps []replayStep) {
	t.Helper()
	begin := time.Now()
	for _, s := range steps {
		if d := time.Until(begin.Add(s.at)); d > 0 {
			time.Sleep(d)
		}
		for _, m := range s.msgs {
			if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
				t.Fatalf("write at %v: %v", s.at, err)
			}
		}
	}
}

type replayStep struct {
	at   time.Duration
	msgs []string
}

// TestTwilioCall replays a recorded call in real time as Twilio Media
// Streams would (configs/twilio.yaml): start with the callSid and the token
// as a custom parameter, 20 ms media messages on the inbound (customer) and
// outbound (agent) tracks, stop. The customer's sliding windows become
// events of the call's stream, the agent's are filtered, and the windows
// still open when the call ends are emitted after it.
func TestTwilioCall(t *testing.T) {
	call := recordCall(t)
	raw, err := os.ReadFile("../../configs/twilio.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CMC_TWILIO_TOKEN", "twilio-test-token")
	y := strings.NewReplacer("bundle: demo/model", "bundle: ../../demo/model", "listen: 127.0.0.1:8090", "listen: 127.0.0.1:0",
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:0").Replace(string(raw)) + testAssetsYAML
	cfg, err := DecodeConfig([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	app, stop, _ := startApp(t, cfg, Options{Extra: []pipeline.Sink[event.Event]{got}})
	c := wsDial(t, app, nil)
	const sid = "CA5f2c0d6e8a9b4c1d2e3f405162738495"
	steps := []replayStep{{0, []string{`{"event":"connected","protocol":"Call","version":"1.0.0"}`,
		`{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"` + sid + `","tracks":["inbound","outbound"],` +
			`"customParameters":{"token":"twilio-test-token","caller":"+15550100"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}`}}}
	seq := 2
	for i := 0; 160*i < len(call.customerMuLaw); i++ {
		lo, hi := 160*i, min(160*(i+1), len(call.customerMuLaw))
		var msgs []string
		for _, tr := range []struct {
			name string
			b    []byte
		}{{"inbound", call.customerMuLaw[lo:hi]}, {"outbound", call.agentMuLaw[lo:hi]}} {
			msgs = append(msgs, fmt.Sprintf(`{"event":"media","sequenceNumber":"%d","media":{"track":%q,"chunk":"%d","timestamp":"%d","payload":%q},"streamSid":"MZ1"}`,
				seq, tr.name, i+1, 20*i, base64.StdEncoding.EncodeToString(tr.b)))
			seq++
		}
		steps = append(steps, replayStep{time.Duration(i) * 20 * time.Millisecond, msgs})
	}
	steps = append(steps, replayStep{time.Duration(callSeconds * float64(time.Second)), []string{`{"event":"stop","sequenceNumber":"9999","stop":{"accountSid":"AC1","callSid":"` + sid + `"},"streamSid":"MZ1"}`}})
	replay(t, c, steps)
	ended := len(got.events())
	// Windows [k, k+3) s with k = 0..8 hold the 8.8 s of audio.
	poll(t, "the call's windows", func() error { return errCount("events", len(got.events()), 9) })
	// The end of the connection ends the call: its summary comes after
	// insight.end_grace, long before insight.idle_timeout (2 min).
	poll(t, "the call's summary", func() error { return errCount("summaries", int(app.insight.Summaries()), 1) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range got.events() {
		if e.StreamID != sid || e.Speaker != "customer" || !e.Modalities.Audio.Present {
			t.Errorf("event %s: stream %q speaker %q audio %v; want the customer's audio in stream %s", e.EventID, e.StreamID, e.Speaker, e.Modalities.Audio.Present, sid)
		}
		seqs = append(seqs, e.Window.Seq)
	}
	slices.Sort(seqs)
	if want := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(seqs, want) {
		t.Errorf("windows %v, want %v", seqs, want)
	}
	if ended >= 9 {
		t.Errorf("%d events before the call ended: the last windows should close after it", ended)
	}
	if s := app.Summary(); s.Windows != 9 || s.Filtered != 0 {
		// privacy.roles: the agent's outbound track stops at the source,
		// so the agent has no window to filter.
		t.Errorf("%d windows, %d filtered; want the customer's 9 only", s.Windows, s.Filtered)
	}
}

// TestCMCWebSocketCall replays the recorded call in real time with
// cmc-stream's own JSON over WebSocket, as a browser page or a program
// would: 16 kHz PCM16 audio chunks of 100 ms and the customer's transcript
// segments, with a bearer token. The first utterance is final; the second
// is still a draft when the client disconnects, and its window is emitted
// once the connection is gone: at the disconnect itself, since
// window.idle_timeout is an hour.
func TestCMCWebSocketCall(t *testing.T) {
	call := recordCall(t)
	t.Setenv("CMC_WS_TOKEN", "cmc-test-token")
	cfg, err := DecodeConfig([]byte(`
model: {bundle: ../../demo/model}
sources:
  websocket: {listen: "127.0.0.1:0", protocol: cmc, token_env: CMC_WS_TOKEN}
window: {policy: utterance, max_wait: 300ms, idle_timeout: 1h}
sinks: {stdout: {}}
privacy: {roles: [customer]}
` + testAssetsYAML))
	if err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	app, stop, _ := startApp(t, cfg, Options{Extra: []pipeline.Sink[event.Event]{got}})
	c := wsDial(t, app, http.Header{"Authorization": {"Bearer cmc-test-token"}})
	const rate, chunk = 16000, 1600 // 100 ms
	var steps []replayStep
	for i := 0; 2*chunk*i < len(call.customerPCM); i++ {
		b := call.customerPCM[2*chunk*i : min(2*chunk*(i+1), len(call.customerPCM))]
		msg := fmt.Sprintf(`{"stream_id":"web-1","start":%g,"sample_rate":%d,"encoding":"pcm16le","samples":%q}`, float64(i)/10, rate, base64.StdEncoding.EncodeToString(b))
		steps = append(steps, replayStep{time.Duration(i) * 100 * time.Millisecond, []string{msg}})
	}
	seg := func(start, end float64, text string, final bool) string {
		return fmt.Sprintf(`{"stream_id":"web-1","speaker":"customer","start":%g,"end":%g,"text":%q,"final":%v}`, start, end, text, final)
	}
	steps = append(steps,
		// The showcase's first two utterances (demo/showcase_transcript.jsonl),
		// the second a draft cut short by the hang-up.
		replayStep{4700 * time.Millisecond, []string{seg(0, 4.56, "The screen on the front shows the time, the date and the weather.", true)}},
		replayStep{8800 * time.Millisecond, []string{seg(5.16, 8.737, "This phone is slim and light and", false)}})
	slices.SortStableFunc(steps, func(a, b replayStep) int { return int(a.at - b.at) })
	replay(t, c, steps)
	c.Close(websocket.StatusNormalClosure, "call ended")
	disconnected := len(got.events())
	poll(t, "events", func() error { return errCount("events", len(got.events()), 2) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	evs := got.events()
	for i, e := range evs {
		if e.StreamID != "web-1" || e.Speaker != "customer" || !e.Modalities.Audio.Present || !e.Modalities.Text.Present {
			t.Errorf("event %d %s: stream %q speaker %q audio %v text %v", i, e.EventID, e.StreamID, e.Speaker, e.Modalities.Audio.Present, e.Modalities.Text.Present)
		}
	}
	if disconnected != 1 || evs[1].Transcript != "This phone is slim and light and" {
		t.Errorf("%d events at the disconnect, then %q: want the draft's window after it", disconnected, evs[1].Transcript)
	}
}

// TestWebSocketConfigErrors checks the websocket keys of configs/twilio.yaml.
func TestWebSocketConfigErrors(t *testing.T) {
	base, err := os.ReadFile("../../configs/twilio.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkConfigErrors(t, string(base), []configCase{
		{"unknown protocol", "protocol: twilio", "protocol: sip", `protocol "sip", want twilio or cmc`},
		{"two token sources", "token_env: CMC_TWILIO_TOKEN", "token_env: X\n    token_file: y", "token_file and token_env are exclusive"},
		{"unknown track", "tracks: {inbound: customer, outbound: agent}", "tracks: {both: customer}", `"both" is not a Twilio track`},
		{"channel 2", "tracks: {inbound: customer, outbound: agent}", "channels: {2: customer}", "sources.websocket.channels: channel 2"},
		{"relative path", "path: /stream", "path: stream", `path "stream" does not start with /`},
		{"inline token", "token_env: CMC_TWILIO_TOKEN", "token: hunter2", "field token not found"},
	})
}
