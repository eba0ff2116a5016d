package event_test

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/cmc-stream/cmc-stream/event"
)

// FuzzDecodeSegment checks the decoder's invariants on arbitrary input: it
// never panics; every error is a *FieldError wrapping a sentinel; an accepted
// segment has a non-empty stream id, valid UTF-8 within the limits, start and
// end of one kind with end not before start, and survives an encode/decode
// round trip unchanged. The seed corpus is in testdata/fuzz/FuzzDecodeSegment.
func FuzzDecodeSegment(f *testing.F) {
	const maxText = 1 << 10
	d := event.SegmentDecoder{MaxTextBytes: maxText}
	sentinels := []error{event.ErrSyntax, event.ErrMissing, event.ErrType, event.ErrUTF8, event.ErrTooLarge, event.ErrRange, event.ErrStreamID}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := d.Decode(data)
		if err != nil {
			var fe *event.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if s.StreamID == "" || len(s.Text) > maxText {
			t.Fatalf("accepted %+v", s)
		}
		for _, str := range []string{s.StreamID, s.Speaker, s.Text, s.Lang} {
			if !utf8.ValidString(str) {
				t.Fatalf("accepted invalid UTF-8 %q", str)
			}
		}
		if s.Start.IsWall() != s.End.IsWall() || s.End.Offset() < s.Start.Offset() || s.End.Wall().Before(s.Start.Wall()) {
			t.Fatalf("accepted start %v end %v", s.Start, s.End)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", s, err)
		}
		s2, err := d.Decode(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !equalSegment(s, s2) {
			t.Fatalf("round trip via %s: %+v != %+v", b, s, s2)
		}
	})
}
