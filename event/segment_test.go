package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

func TestDecodeSegment(t *testing.T) {
	wall := func(s string) event.Time {
		w, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return event.WallTime(w)
	}
	tests := []struct {
		name string
		in   string
		want event.Segment
	}{
		{
			"rfc3339",
			`{"stream_id":"call-42","speaker":"customer","start":"2026-11-27T10:00:03.20Z","end":"2026-11-27T10:00:06.85+00:00","text":"sure, that's just great","final":true,"lang":"en"}`,
			event.Segment{StreamID: "call-42", Speaker: "customer", Start: wall("2026-11-27T10:00:03.2Z"), End: wall("2026-11-27T10:00:06.85Z"), Text: "sure, that's just great", Final: true, Lang: "en"},
		},
		{
			"seconds",
			`{"stream_id":"cam","start":3.2,"end":6.85,"text":"好的","final":false,"lang":"zh-CN","confidence":0.9}`,
			event.Segment{StreamID: "cam", Start: event.StreamOffset(3200 * time.Millisecond), End: event.StreamOffset(6850 * time.Millisecond), Text: "好的", Lang: "zh-CN"},
		},
		{
			"exponent and nanoseconds",
			`{"stream_id":"cam","start":1e-9,"end":1.5E2,"text":"","final":true,"speaker":null}`,
			event.Segment{StreamID: "cam", Start: event.StreamOffset(1), End: event.StreamOffset(150 * time.Second), Final: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := event.DecodeSegment([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !equalSegment(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalSegment(a, b event.Segment) bool {
	return a.StreamID == b.StreamID && a.Speaker == b.Speaker && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.Text == b.Text && a.Final == b.Final && a.Lang == b.Lang
}

func TestDecodeSegmentRejects(t *testing.T) {
	const ok = `"stream_id":"s","start":1,"end":2,"final":true`
	tests := []struct {
		name  string
		in    string
		field string
		err   error
	}{
		{"empty", ``, "", event.ErrSyntax},
		{"truncated", `{"stream_id":"s"`, "", event.ErrSyntax},
		{"array", `[1,2]`, "", event.ErrSyntax},
		{"null", `null`, "", event.ErrSyntax},
		{"trailing", `{` + ok + `,"text":""} x`, "", event.ErrSyntax},
		{"missing stream", `{"start":1,"end":2,"final":true,"text":""}`, "stream_id", event.ErrMissing},
		{"empty stream", `{"stream_id":"","start":1,"end":2,"final":true,"text":""}`, "stream_id", event.ErrMissing},
		{"missing text", `{` + ok + `}`, "text", event.ErrMissing},
		{"null text", `{` + ok + `,"text":null}`, "text", event.ErrMissing},
		{"missing start", `{"stream_id":"s","end":2,"final":true,"text":""}`, "start", event.ErrMissing},
		{"missing final", `{"stream_id":"s","start":1,"end":2,"text":""}`, "final", event.ErrMissing},
		{"text type", `{` + ok + `,"text":5}`, "text", event.ErrType},
		{"stream type", `{"stream_id":["s"],"start":1,"end":2,"final":true,"text":""}`, "stream_id", event.ErrType},
		{"final type", `{"stream_id":"s","start":1,"end":2,"final":"yes","text":""}`, "final", event.ErrType},
		{"start type", `{"stream_id":"s","start":true,"end":2,"final":true,"text":""}`, "start", event.ErrType},
		{"start format", `{"stream_id":"s","start":"10:00","end":2,"final":true,"text":""}`, "start", event.ErrType},
		{"negative start", `{"stream_id":"s","start":-1,"end":2,"final":true,"text":""}`, "start", event.ErrRange},
		{"huge end", `{"stream_id":"s","start":1,"end":1e20,"final":true,"text":""}`, "end", event.ErrRange},
		{"tiny exponent", `{"stream_id":"s","start":1e-400,"end":2,"final":true,"text":""}`, "start", event.ErrRange},
		{"end before start", `{"stream_id":"s","start":2,"end":1.5,"final":true,"text":""}`, "end", event.ErrRange},
		{"mixed kinds", `{"stream_id":"s","start":"2026-11-27T10:00:03Z","end":2,"final":true,"text":""}`, "end", event.ErrRange},
		{"wall end before start", `{"stream_id":"s","start":"2026-11-27T10:00:03Z","end":"2026-11-27T10:00:02Z","final":true,"text":""}`, "end", event.ErrRange},
		{"utf8 text", "{" + ok + ",\"text\":\"caf\xe9\"}", "text", event.ErrUTF8},
		{"utf8 speaker", "{" + ok + ",\"text\":\"\",\"speaker\":\"\xff\"}", "speaker", event.ErrUTF8},
		{"long speaker", `{` + ok + `,"text":"","speaker":"` + strings.Repeat("x", 257) + `"}`, "speaker", event.ErrTooLarge},
		{"lang", `{` + ok + `,"text":"","lang":"en_US"}`, "lang", event.ErrType},
		{"lang hyphen", `{` + ok + `,"text":"","lang":"en-"}`, "lang", event.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.DecodeSegment([]byte(tt.in))
			var fe *event.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !errors.Is(err, tt.err) {
				t.Fatalf("err = %v (field %q), want field %q and %v", err, fe.Field, tt.field, tt.err)
			}
			if !strings.HasPrefix(err.Error(), "event: segment: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.field != "" && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}

func TestDecodeSegmentTextLimit(t *testing.T) {
	d := event.SegmentDecoder{MaxTextBytes: 8}
	msg := func(text string) []byte {
		return []byte(`{"stream_id":"s","start":0,"end":1,"final":true,"text":"` + text + `"}`)
	}
	if _, err := d.Decode(msg("12345678")); err != nil {
		t.Fatalf("text at the limit: %v", err)
	}
	if _, err := d.Decode(msg("123456789")); !errors.Is(err, event.ErrTooLarge) {
		t.Fatalf("text over the limit: %v", err)
	}
	// Eight escaped characters decode to 8 bytes and are accepted.
	if _, err := d.Decode(msg(strings.Repeat(`\u0041`, 8))); err != nil {
		t.Fatalf("escaped text at the limit: %v", err)
	}
	big := msg(strings.Repeat("x", event.DefaultMaxTextBytes+1))
	if _, err := event.DecodeSegment(big); !errors.Is(err, event.ErrTooLarge) {
		t.Fatalf("default limit: %v", err)
	}
	huge := msg(strings.Repeat("x", 7*event.DefaultMaxTextBytes))
	var fe *event.FieldError
	if _, err := event.DecodeSegment(huge); !errors.As(err, &fe) || fe.Field != "" || !errors.Is(err, event.ErrTooLarge) {
		t.Fatalf("oversize message: %v", err)
	}
}

func TestSegmentJSONRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"stream_id":"s","speaker":"agent","start":"2026-11-27T10:00:03.123456789+01:00","end":"2026-11-27T10:00:04+01:00","text":"hi","final":true,"lang":"en"}`,
		`{"stream_id":"s","start":0,"end":9223372036.854775807,"text":"","final":false}`,
		`{"stream_id":"s","start":0.000000001,"end":86400.5,"text":"a\nb","final":true}`,
	} {
		s, err := event.DecodeSegment([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := event.DecodeSegment(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !equalSegment(s, s2) {
			t.Fatalf("round trip of %s via %s: %+v != %+v", in, b, s, s2)
		}
	}
}

func TestTimeResolve(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if got := event.StreamOffset(1500 * time.Millisecond).Resolve(start); !got.Equal(start.Add(1500 * time.Millisecond)) {
		t.Errorf("offset Resolve = %v", got)
	}
	w := start.Add(time.Hour)
	tm := event.WallTime(w)
	if got := tm.Resolve(start); !got.Equal(w) || !tm.IsWall() || tm.Offset() != 0 || !tm.Wall().Equal(w) {
		t.Errorf("wall time %v: Resolve = %v", tm, got)
	}
}

func ExampleDecodeSegment() {
	s, err := event.DecodeSegment([]byte(`{"stream_id":"call-42","speaker":"customer","start":3.2,"end":6.85,"text":"sure, that's just great","final":true}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.StreamID, s.Start.Offset(), s.End.Offset(), s.Text)

	_, err = event.DecodeSegment([]byte(`{"stream_id":"call-42","start":3.2,"end":1,"text":"","final":true}`))
	fmt.Println(err)
	// Output:
	// call-42 3.2s 6.85s sure, that's just great
	// event: segment: field end: out of range: end before start
}

func BenchmarkDecodeSegment(b *testing.B) {
	msg := []byte(`{"stream_id":"call-42","speaker":"customer","start":"2026-11-27T10:00:03.20Z","end":"2026-11-27T10:00:06.85Z","text":"sure, that's just great","final":true,"lang":"en"}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := event.DecodeSegment(msg); err != nil {
			b.Fatal(err)
		}
	}
}
