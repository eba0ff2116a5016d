package websocket_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cmc-stream/cmc-stream/event"
	ws "github.com/cmc-stream/cmc-stream/ingest/websocket"
)

// start runs a source of cfg on a free loopback port until the test ends.
func start(t *testing.T, cfg ws.Config) *ws.Source {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// dial connects a real WebSocket client to s with the query and header.
func dial(t *testing.T, s *ws.Source, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws://"+s.Addr()+ws.DefaultPath+query, &websocket.DialOptions{HTTPHeader: header})
}

// send writes text messages.
func send(t *testing.T, c *websocket.Conn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
			t.Fatalf("write %.40s: %v", m, err)
		}
	}
}

// closeCode waits for the server to close c and returns its close code.
func closeCode(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// waitCount waits until s counted want rejections for reason: the server
// counts a frame after it sent the close frame the client saw.
func waitCount(t *testing.T, s *ws.Source, reason string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Rejected[reason] != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s counted %d times, want %d", reason, s.Stats().Rejected[reason], want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// read returns the next item of s.
func read(t *testing.T, s *ws.Source) ws.Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	it, ack, err := s.Read(ctx)
	if err != nil || ack != nil {
		t.Fatalf("read: %v (ack %v)", err, ack != nil)
	}
	return it
}

const callSid = "CA0123456789abcdef0123456789abcdef"

func twilioStart(params string) string {
	return fmt.Sprintf(`{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":%q,"tracks":["inbound","outbound"],"customParameters":{%s},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}`, callSid, params)
}

func twilioMedia(track string, ms int, payload []byte) string {
	return fmt.Sprintf(`{"event":"media","sequenceNumber":"2","media":{"track":%q,"chunk":"1","timestamp":"%d","payload":%q},"streamSid":"MZ1"}`, track, ms, base64.StdEncoding.EncodeToString(payload))
}

const twilioStop = `{"event":"stop","sequenceNumber":"9","stop":{"accountSid":"AC1","callSid":"` + callSid + `"},"streamSid":"MZ1"}`

// TestTwilio streams a Twilio call: the callSid is the stream id, the
// tracks are the default roles, the mu-law payload is decoded, the
// timestamp is the chunk's offset, and stop closes the connection normally.
func TestTwilio(t *testing.T) {
	s := start(t, ws.Config{Protocol: ws.Twilio})
	c, _, err := dial(t, s, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send(t, c, `{"event":"connected","protocol":"Call","version":"1.0.0"}`, twilioStart(`"agent_id":"42"`),
		twilioMedia("inbound", 20, []byte{0x80, 0x00}), twilioMedia("outbound", 40, []byte{0xFF}), `{"event":"mark","mark":{"name":"x"}}`, twilioStop)
	in, out := read(t, s), read(t, s)
	want := []float32{32124.0 / 32768, -32124.0 / 32768} // G.711 mu-law 0x80, 0x00
	if in.Speaker != "customer" || in.Audio.StreamID != callSid || in.Audio.Start.Offset() != 20*time.Millisecond || in.Audio.SampleRate != 8000 ||
		fmt.Sprint(in.Audio.Samples) != fmt.Sprint(want) {
		t.Errorf("inbound item %+v %+v", in, in.Audio)
	}
	if out.Speaker != "agent" || out.Audio.Start.Offset() != 40*time.Millisecond || out.Audio.Samples[0] != 0 {
		t.Errorf("outbound item %+v %+v", out, out.Audio)
	}
	if code := closeCode(t, c); code != websocket.StatusNormalClosure {
		t.Errorf("close code %v after stop, want 1000", code)
	}
	if end := read(t, s); end.Ended != callSid || end.Audio != nil || end.Segment != nil {
		t.Errorf("after the call's last item: %+v, want the end of %s", end, callSid)
	}
}

// TestTokens: with a token configured, a connection needs it in a header
// or the query (cmc), or in the start message's custom parameters
// (Twilio); every refusal is counted.
func TestTokens(t *testing.T) {
	cmc := start(t, ws.Config{Protocol: ws.CMC, Token: "tok-123"})
	for _, tc := range []struct {
		query  string
		header http.Header
		ok     bool
	}{
		{"", nil, false},
		{"?token=wrong", nil, false},
		{"", http.Header{"Authorization": {"Bearer wrong"}}, false},
		{"?token=tok-123", nil, true},
		{"", http.Header{"Authorization": {"Bearer tok-123"}}, true},
	} {
		c, resp, err := dial(t, cmc, tc.query, tc.header)
		if tc.ok != (err == nil) {
			t.Errorf("query %q header %v: err %v, want ok %v", tc.query, tc.header, err, tc.ok)
		}
		if err == nil {
			c.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("query %q: response %v, want 401", tc.query, resp)
		}
	}
	if n := cmc.Stats().Rejected[ws.ReasonUnauthorized]; n != 3 {
		t.Errorf("%d unauthorized, want 3", n)
	}

	tw := start(t, ws.Config{Protocol: ws.Twilio, Token: "tok-123"})
	c, _, err := dial(t, tw, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, twilioStart(`"token":"wrong"`))
	if code := closeCode(t, c); code != websocket.StatusPolicyViolation {
		t.Errorf("close code %v for a wrong token, want 1008", code)
	}
	c, _, err = dial(t, tw, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, twilioStart(`"token":"tok-123"`), twilioMedia("inbound", 0, []byte{1}), twilioStop)
	if it := read(t, tw); it.Audio == nil || it.Audio.StreamID != callSid {
		t.Errorf("item %+v", it)
	}
	waitCount(t, tw, ws.ReasonUnauthorized, 1)
}

// TestBadFrames sends each kind of bad frame on its own connection: each
// closes its connection with its code and counts its reason, and the
// source goes on serving a good connection afterwards.
func TestBadFrames(t *testing.T) {
	tw := start(t, ws.Config{Protocol: ws.Twilio, MaxFrameBytes: 4096})
	cmc := start(t, ws.Config{Protocol: ws.CMC, MaxFrameBytes: 4096})
	chunk := func(stream string) string {
		return fmt.Sprintf(`{"stream_id":%q,"start":0,"sample_rate":8000,"encoding":"mulaw","samples":"/w=="}`, stream)
	}
	for _, tc := range []struct {
		name   string
		src    *ws.Source
		frames []string
		binary bool
		code   websocket.StatusCode
		reason string
	}{
		{"not JSON", tw, []string{`{"event":`}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"unknown event", tw, []string{`{"event":"hello"}`}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"media before start", tw, []string{twilioMedia("inbound", 0, []byte{1})}, false, websocket.StatusPolicyViolation, ws.ReasonProtocol},
		{"bad callSid", tw, []string{strings.Replace(twilioStart(""), callSid, "CA\\nevent: x", 1)}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"other media format", tw, []string{strings.Replace(twilioStart(""), "audio/x-mulaw", "audio/opus", 1)}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"bad payload", tw, []string{twilioStart(""), strings.Replace(twilioMedia("inbound", 0, []byte{1}), `"payload":"AQ=="`, `"payload":"!!"`, 1)}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"negative timestamp", tw, []string{twilioStart(""), twilioMedia("inbound", -5, []byte{1})}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"too large", tw, []string{twilioStart(""), twilioMedia("inbound", 0, make([]byte, 8000))}, false, websocket.StatusMessageTooBig, ws.ReasonTooLarge},
		{"binary", tw, []string{"\x00\x01"}, true, websocket.StatusUnsupportedData, ws.ReasonBinary},
		{"bad chunk", cmc, []string{strings.Replace(chunk("a"), "8000", "4000", 1)}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"bad segment", cmc, []string{`{"stream_id":"a","start":1}`}, false, websocket.StatusInvalidFramePayloadData, ws.ReasonMalformed},
		{"two streams", cmc, []string{chunk("a"), chunk("b")}, false, websocket.StatusPolicyViolation, ws.ReasonProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.src.Stats().Rejected[tc.reason]
			c, _, err := dial(t, tc.src, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for _, f := range tc.frames {
				typ := websocket.MessageText
				if tc.binary {
					typ = websocket.MessageBinary
				}
				if err := c.Write(t.Context(), typ, []byte(f)); err != nil {
					break // the server may have closed already
				}
			}
			if code := closeCode(t, c); code != tc.code {
				t.Errorf("close code %v, want %v", code, tc.code)
			}
			waitCount(t, tc.src, tc.reason, before+1)
		})
	}
	// Drain what the bad connections delivered before failing.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	for {
		if _, _, err := cmc.Read(ctx); err != nil {
			break
		}
	}
	cancel()
	c, _, err := dial(t, cmc, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send(t, c, chunk("after"))
	if it := read(t, cmc); it.Audio == nil || it.Audio.StreamID != "after" {
		t.Errorf("item after the bad frames: %+v", it)
	}
}

// TestIdleConnectionClosed: a connection silent for IdleTimeout is closed
// with 1008 and counted.
func TestIdleConnectionClosed(t *testing.T) {
	s := start(t, ws.Config{Protocol: ws.CMC, IdleTimeout: 200 * time.Millisecond})
	c, _, err := dial(t, s, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if code := closeCode(t, c); code != websocket.StatusPolicyViolation {
		t.Errorf("close code %v, want 1008", code)
	}
	waitCount(t, s, ws.ReasonIdle, 1)
}

// TestCrossOriginRefused: a browser page of another origin cannot connect.
func TestCrossOriginRefused(t *testing.T) {
	s := start(t, ws.Config{Protocol: ws.CMC})
	if _, _, err := dial(t, s, "", http.Header{"Origin": {"https://evil.example"}}); err == nil {
		t.Fatal("a cross-origin connection was accepted")
	}
	if s.Stats().Rejected[ws.ReasonHandshake] != 1 {
		t.Errorf("rejected %v, want one handshake", s.Stats().Rejected)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []ws.Config{{Protocol: "sip"}, {Protocol: ws.CMC, Path: "stream"}, {Protocol: ws.Twilio, Tracks: map[string]string{"both": "x"}},
		{Protocol: ws.CMC, Listen: "nowhere"}, {Protocol: ws.CMC, MaxFrameBytes: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	_ = event.MuLaw
}
