package event_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cmc-stream/cmc-stream/event"
)

func TestDecodeEndOfCall(t *testing.T) {
	id, err := event.DecodeEndOfCall([]byte(`{"stream_id":"call-42","end_of_call":true}`))
	if err != nil || id != "call-42" {
		t.Fatalf("DecodeEndOfCall = %q, %v", id, err)
	}
	for _, bad := range []struct{ msg, field string }{
		{`{"stream_id":"c","end_of_call":false}`, "end_of_call"},
		{`{"end_of_call":true}`, "stream_id"},
		{`{"stream_id":"","end_of_call":true}`, "stream_id"},
		{`{"stream_id":"c","end_of_call":true,"text":"x"}`, "end_of_call"},
		{`{"stream_id":"c","end_of_call":"yes"}`, "end_of_call"},
		{"{\"stream_id\":\"\xff\",\"end_of_call\":true}", "stream_id"},
		{`{"stream_id":"c","end_of_call":true} {}`, "end_of_call"},
		{`{"stream_id":"` + strings.Repeat("x", 5000) + `","end_of_call":true}`, "end_of_call"},
	} {
		_, err := event.DecodeEndOfCall([]byte(bad.msg))
		var fe *event.FieldError
		if !errors.As(err, &fe) || fe.Field != bad.field {
			t.Errorf("DecodeEndOfCall(%.60q) = %v, want an error on field %s", bad.msg, err, bad.field)
		}
	}
	if event.IsEndOfCall([]byte(`{"stream_id":"c","start":0,"end":1,"text":"end of call","final":true}`)) {
		t.Error("a segment whose text says end of call is taken as a marker")
	}
}

func FuzzDecodeEndOfCall(f *testing.F) {
	f.Add([]byte(`{"stream_id":"call-42","end_of_call":true}`))
	f.Add([]byte(`{"stream_id":"c","end_of_call":false}`))
	f.Add([]byte(`{"end_of_call":true,"stream_id":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := event.DecodeEndOfCall(data)
		if err == nil && (id == "" || !utf8.ValidString(id) || len(data) > 4096) {
			t.Fatalf("accepted %q with stream %q", data, id)
		}
	})
}
