package event_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/event"
)

// TestStreamIDRule checks the stream id rule at the edge: segments and
// audio chunks whose stream_id could forge an SSE field ("\nevent: ..."),
// move a terminal's cursor or run past 128 bytes are refused, naming
// stream_id.
func TestStreamIDRule(t *testing.T) {
	for _, id := range []string{"call-42", "cam.1", "user@example.com", "CA1234:leg+2", strings.Repeat("x", 128)} {
		if err := event.ValidateStreamID(id); err != nil {
			t.Errorf("ValidateStreamID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", "a\nevent: forged", "a\x1b[2J", "a b", "a/b", "é", strings.Repeat("x", 129)} {
		if err := event.ValidateStreamID(id); err == nil {
			t.Errorf("ValidateStreamID(%q) accepted", id)
		}
		seg := `{"stream_id":` + jsonString(id) + `,"start":0,"end":1,"text":"hi","final":true}`
		_, err := event.DecodeSegment([]byte(seg))
		var fe *event.FieldError
		if !errors.As(err, &fe) || fe.Field != "stream_id" {
			t.Errorf("segment of stream %q: %v, want a stream_id error", id, err)
		}
		chunk := `{"stream_id":` + jsonString(id) + `,"start":0,"sample_rate":16000,"encoding":"f32le","samples":"AAAAAA=="}`
		if _, err := event.DecodeAudioChunk([]byte(chunk)); !errors.As(err, &fe) || fe.Field != "stream_id" {
			t.Errorf("audio chunk of stream %q: %v, want a stream_id error", id, err)
		}
	}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
