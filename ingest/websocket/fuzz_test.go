package websocket

import (
	"errors"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
)

// FuzzDecode feeds any message to both protocols' decoders, after a valid
// Twilio start: each gives items or a *closeError, never a panic, and the
// items are valid chunks of the connection's stream.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"event":"media","media":{"track":"inbound","timestamp":"20","payload":"/38="}}`))
	f.Add([]byte(`{"event":"stop"}`))
	f.Add([]byte(`{"stream_id":"a","start":0,"sample_rate":8000,"encoding":"alaw","channels":2,"samples":"1VU="}`))
	f.Add([]byte(`{"stream_id":"a","start":1,"end":2,"text":"hi","final":true}`))
	start := []byte(`{"event":"start","start":{"callSid":"CA1","mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`)
	f.Fuzz(func(t *testing.T, msg []byte) {
		tw := &twilioConn{tracks: DefaultTracks, authed: true}
		if _, _, err := tw.decode(start); err != nil {
			t.Fatal(err)
		}
		for _, p := range []protocol{tw, &cmcConn{}} {
			items, _, err := p.decode(msg)
			var ce *closeError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("error %v is not a close error", err)
			}
			for _, it := range items {
				if a := it.Audio; a != nil && (a.StreamID == "" || a.SampleRate < event.MinSampleRate || len(a.Samples) == 0 ||
					a.Frames() > event.MaxChunkSeconds*a.SampleRate) {
					t.Fatalf("accepted %+v", a)
				}
			}
		}
	})
}
