package websocket

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/cmc-stream/cmc-stream/event"
)

// twilioConn decodes the Twilio Media Streams messages of one connection
// (https://www.twilio.com/docs/voice/media-streams/websocket-messages).
type twilioConn struct {
	tracks     map[string]string
	authed     bool
	validToken func(string) bool
	callSid    string // the stream id, once started
}

// twilioMessage is the union of the messages Twilio sends; fields of
// other messages are absent.
type twilioMessage struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Start     *struct {
		StreamSid        string            `json:"streamSid"`
		CallSid          string            `json:"callSid"`
		Tracks           []string          `json:"tracks"`
		CustomParameters map[string]string `json:"customParameters"`
		MediaFormat      struct {
			Encoding   string `json:"encoding"`
			SampleRate int    `json:"sampleRate"`
			Channels   int    `json:"channels"`
		} `json:"mediaFormat"`
	} `json:"start"`
	Media *struct {
		Track     string `json:"track"`
		Timestamp string `json:"timestamp"`
		Payload   string `json:"payload"`
	} `json:"media"`
}

// Twilio's media format: the only one Media Streams sends.
const (
	twilioEncoding = "audio/x-mulaw"
	twilioRate     = 8000
)

// maxSidBytes bounds a Twilio SID: two letters and 32 hex digits, with
// room to spare.
const maxSidBytes = 64

// validSid reports whether s looks like a Twilio SID: letters and digits,
// at most maxSidBytes.
func validSid(s string) bool {
	if s == "" || len(s) > maxSidBytes {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func (t *twilioConn) decode(msg []byte) ([]Item, bool, error) {
	var m twilioMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, false, malformed("twilio: not a JSON message: %v", err)
	}
	switch m.Event {
	case "connected", "dtmf", "mark":
		return nil, false, nil
	case "start":
		return nil, false, t.start(m)
	case "media":
		it, err := t.media(m)
		if err != nil || it == nil {
			return nil, false, err
		}
		return []Item{*it}, false, nil
	case "stop":
		if t.callSid == "" {
			return nil, false, outOfOrder("twilio: stop before start")
		}
		return nil, true, nil
	}
	return nil, false, malformed("twilio: unknown event %q", m.Event)
}

// start checks the start message: the token when it is due here, the
// callSid and the media format.
func (t *twilioConn) start(m twilioMessage) error {
	s := m.Start
	switch {
	case t.callSid != "":
		return outOfOrder("twilio: second start message")
	case s == nil:
		return malformed("twilio: start message without start")
	case !t.authed && !t.validToken(s.CustomParameters["token"]):
		return &closeError{code: websocket.StatusPolicyViolation, reason: ReasonUnauthorized, err: errUnauthorized}
	case !validSid(s.CallSid):
		return malformed("twilio: start.callSid: want 1 to %d letters and digits", maxSidBytes)
	case s.MediaFormat.Encoding != twilioEncoding || s.MediaFormat.SampleRate != twilioRate || s.MediaFormat.Channels > 1:
		return malformed("twilio: start.mediaFormat %s at %d Hz, %d channels: want %s at %d Hz, mono",
			strconv.Quote(s.MediaFormat.Encoding), s.MediaFormat.SampleRate, s.MediaFormat.Channels, twilioEncoding, twilioRate)
	}
	t.callSid, t.authed = s.CallSid, true
	return nil
}

// media decodes a media message into an audio item of its track's role;
// nil for a track without one.
func (t *twilioConn) media(m twilioMessage) (*Item, error) {
	if t.callSid == "" {
		return nil, outOfOrder("twilio: media before start")
	}
	md := m.Media
	if md == nil {
		return nil, malformed("twilio: media message without media")
	}
	role, ok := t.tracks[md.Track]
	if !ok {
		return nil, nil
	}
	ms, err := strconv.ParseInt(md.Timestamp, 10, 64)
	if err != nil || ms < 0 || ms > int64(maxStreamTime/time.Millisecond) {
		return nil, malformed("twilio: media.timestamp %s: want milliseconds from the stream's start", strconv.Quote(truncate(md.Timestamp)))
	}
	raw, err := base64.StdEncoding.DecodeString(md.Payload)
	if err != nil || len(raw) == 0 {
		return nil, malformed("twilio: media.payload: want base64 mu-law samples")
	}
	if len(raw) > event.MaxChunkSeconds*twilioRate {
		return nil, malformed("twilio: media.payload of %d samples, more than %d s", len(raw), event.MaxChunkSeconds)
	}
	samples, err := event.MuLaw.Decode(make([]float32, 0, len(raw)), raw)
	if err != nil {
		return nil, malformed("twilio: media.payload: %v", err)
	}
	c := &event.AudioChunk{StreamID: t.callSid, Start: event.StreamOffset(time.Duration(ms) * time.Millisecond),
		SampleRate: twilioRate, Channels: 1, Samples: samples}
	return &Item{Audio: c, Speaker: role}, nil
}

// maxStreamTime bounds a timestamp: a day, longer than any call.
const maxStreamTime = 24 * time.Hour
