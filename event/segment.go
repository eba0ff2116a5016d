package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Time is a point in the event time of a stream, as a transcript gives it:
// either an absolute wall-clock time (an RFC 3339 string in JSON) or an
// offset from the start of the stream (a number of seconds in JSON). The
// zero Time is offset 0.
type Time struct {
	wall   time.Time
	offset time.Duration
}

// WallTime returns the absolute Time t. A zero t gives offset 0.
func WallTime(t time.Time) Time { return Time{wall: t} }

// StreamOffset returns the Time d after the start of the stream.
func StreamOffset(d time.Duration) Time { return Time{offset: d} }

// IsWall reports whether t is an absolute wall-clock time.
func (t Time) IsWall() bool { return !t.wall.IsZero() }

// Wall returns the absolute time, or the zero time.Time for an offset.
func (t Time) Wall() time.Time { return t.wall }

// Offset returns the offset from the stream start, or 0 for a wall time.
func (t Time) Offset() time.Duration { return t.offset }

// Resolve returns t as a wall-clock time, placing an offset after
// streamStart.
func (t Time) Resolve(streamStart time.Time) time.Time {
	if t.IsWall() {
		return t.wall
	}
	return streamStart.Add(t.offset)
}

// Equal reports whether t and u are the same kind of time at the same
// instant.
func (t Time) Equal(u Time) bool {
	return t.IsWall() == u.IsWall() && t.wall.Equal(u.wall) && t.offset == u.offset
}

// MarshalJSON encodes a wall time as an RFC 3339 string with nanoseconds and
// an offset as a number of seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsWall() {
		return json.Marshal(t.wall.Format(time.RFC3339Nano))
	}
	b := strconv.AppendInt(nil, int64(t.offset/time.Second), 10)
	if ns := int64(t.offset % time.Second); ns != 0 {
		frac := strconv.AppendInt(nil, time.Second.Nanoseconds()+ns, 10)[1:]
		b = append(b, '.')
		b = append(b, bytes.TrimRight(frac, "0")...)
	}
	return b, nil
}

// maxOffsetSeconds is the largest offset a Time accepts: about 292 years,
// the range of time.Duration.
const maxOffsetSeconds = float64(math.MaxInt64) / float64(time.Second)

// maxNumberBytes bounds the JSON number of an offset: 64 bytes hold any
// float64 in its shortest form and a nanosecond decimal with room to spare.
const maxNumberBytes = 64

// maxExponent bounds the decimal exponent of an offset, so that exact
// decimal arithmetic stays cheap; |exponent| > 30 is far outside the range of
// a time.Duration in seconds or below a nanosecond.
const maxExponent = 30

// UnmarshalJSON decodes an RFC 3339 string or a non-negative number of
// seconds, rounded exactly to the nearest nanosecond (halves up). Errors
// wrap ErrType or ErrRange.
func (t *Time) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ErrType
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%w: %w", ErrType, err)
		}
		w, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%w: not RFC 3339: %q", ErrType, s)
		}
		if w.IsZero() {
			return fmt.Errorf("%w: zero time", ErrRange)
		}
		*t = WallTime(w)
		return nil
	}
	if (data[0] != '-' && (data[0] < '0' || data[0] > '9')) || !json.Valid(data) {
		return fmt.Errorf("%w: want an RFC 3339 string or seconds", ErrType)
	}
	d, err := parseSeconds(data)
	if err != nil {
		return err
	}
	*t = StreamOffset(d)
	return nil
}

// parseSeconds converts a JSON number of seconds to a Duration exactly.
func parseSeconds(data []byte) (time.Duration, error) {
	if len(data) > maxNumberBytes {
		return 0, fmt.Errorf("%w: number of %d bytes", ErrRange, len(data))
	}
	s := string(data)
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil || !(sec >= 0 && sec <= maxOffsetSeconds) {
		return 0, fmt.Errorf("%w: %s seconds", ErrRange, s)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp < -maxExponent || exp > maxExponent {
			return 0, fmt.Errorf("%w: %s seconds", ErrRange, s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrType, s)
	}
	r.Mul(r, big.NewRat(int64(time.Second), 1))
	// round(n/d) = floor((2n+d) / 2d) for n, d >= 0.
	n := new(big.Int).Lsh(r.Num(), 1)
	n.Add(n, r.Denom())
	n.Quo(n, new(big.Int).Lsh(r.Denom(), 1))
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w: %s seconds", ErrRange, s)
	}
	return time.Duration(n.Int64()), nil
}

// Segment is one transcript segment: a span of one stream's speech with its
// text, as an ASR or a transcript file delivers it. Its JSON form is
//
//	{"stream_id":"call-42","speaker":"customer","start":"2026-11-27T10:00:03.2Z",
//	 "end":"2026-11-27T10:00:06.85Z","text":"sure, that's just great","final":true,"lang":"en"}
//
// where start and end may instead be seconds from the stream start (3.2,
// 6.85). stream_id, start, end, text and final are required; speaker and lang
// are optional.
type Segment struct {
	// StreamID names the stream the segment belongs to.
	StreamID string `json:"stream_id"`
	// Speaker names the speaker, if known.
	Speaker string `json:"speaker,omitempty"`
	// Start is the start of the speech.
	Start Time `json:"start"`
	// End is the end of the speech; it is of the same kind as Start and not
	// before it.
	End Time `json:"end"`
	// Text is the transcribed speech, valid UTF-8.
	Text string `json:"text"`
	// Final tells whether the ASR will not revise this segment any more.
	// Utterance windows are built from final segments only.
	Final bool `json:"final"`
	// Lang is the BCP 47 language tag of the text, such as "en" or "zh-CN",
	// if known.
	Lang string `json:"lang,omitempty"`
}

// The sentinel errors that a *FieldError from DecodeSegment wraps.
var (
	// ErrSyntax means the message is not one well-formed JSON object.
	ErrSyntax = errors.New("malformed JSON")
	// ErrMissing means a required field is absent or null.
	ErrMissing = errors.New("missing")
	// ErrType means a field has the wrong JSON type or format.
	ErrType = errors.New("wrong type")
	// ErrUTF8 means a field's text is not valid UTF-8.
	ErrUTF8 = errors.New("invalid UTF-8")
	// ErrTooLarge means a field is longer than its limit.
	ErrTooLarge = errors.New("too large")
	// ErrRange means a value is out of range: a negative or huge offset,
	// an end before the start, a mix of wall times and offsets.
	ErrRange = errors.New("out of range")
)

// FieldError reports why a segment was rejected.
type FieldError struct {
	// Field is the JSON name of the offending field, or "" when the
	// message as a whole is malformed.
	Field string
	// Err is one of the sentinel errors, possibly wrapped with detail.
	Err error
}

// Error returns "event: segment: field <name>: <reason>".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "event: segment: " + e.Err.Error()
	}
	return fmt.Sprintf("event: segment: field %s: %v", e.Field, e.Err)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *FieldError) Unwrap() error { return e.Err }

// DefaultMaxTextBytes is the default limit on a segment's text: 64 KiB, far
// above the longest utterance of CMU-MOSEI, yet small enough to bound the
// memory of a malicious message.
const DefaultMaxTextBytes = 64 << 10

// maxNameBytes bounds stream_id and speaker: 256 bytes.
const maxNameBytes = 256

// ErrStreamID is wrapped by the error of a stream id that breaks the rule
// of ValidateStreamID.
var ErrStreamID = errors.New("invalid stream id")

// MaxStreamIDBytes bounds a stream id, in bytes.
const MaxStreamIDBytes = 128

// ValidateStreamID checks the rule every stream id must follow where it
// enters (transcript segments, audio chunks, source configuration): 1 to
// MaxStreamIDBytes (128) characters, each an ASCII letter or digit or one
// of . _ - : @ +. So an id never carries a newline, a control character or
// a separator into an SSE field, a terminal line, a log or an event id
// ("<stream>/utt/<seq>"). The error wraps ErrMissing for an empty id and
// ErrStreamID otherwise.
func ValidateStreamID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrMissing)
	}
	if len(id) > MaxStreamIDBytes {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrStreamID, len(id), MaxStreamIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-:@+", c) >= 0 {
			continue
		}
		return fmt.Errorf("%w: byte %d is %q; allowed: ASCII letters, digits and . _ - : @ +", ErrStreamID, i, c)
	}
	return nil
}

// maxLangBytes bounds lang: 35 bytes, the longest BCP 47 tag that
// registries recommend supporting (RFC 5646, section 4.4.1).
const maxLangBytes = 35

// SegmentDecoder decodes transcript segments from JSON. The zero value uses
// the defaults. A SegmentDecoder is safe for concurrent use.
type SegmentDecoder struct {
	// MaxTextBytes is the largest text accepted, in bytes of UTF-8; 0
	// means DefaultMaxTextBytes. A message longer than MaxTextBytes plus
	// 4 KiB is rejected without being parsed.
	MaxTextBytes int
}

// DecodeSegment decodes one segment with the default SegmentDecoder.
func DecodeSegment(data []byte) (Segment, error) {
	return SegmentDecoder{}.Decode(data)
}

// Decode decodes one JSON object into a Segment. Unknown fields are ignored,
// so producers can add metadata. Every error is a *FieldError.
func (d SegmentDecoder) Decode(data []byte) (Segment, error) {
	maxText := d.MaxTextBytes
	if maxText <= 0 {
		maxText = DefaultMaxTextBytes
	}
	// JSON escapes make the text up to six times longer than its UTF-8
	// form, so the raw limit is generous; the exact check is on the
	// decoded text below.
	if len(data) > 6*maxText+4<<10 {
		return Segment{}, &FieldError{Err: fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(data))}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Segment{}, &FieldError{Err: fmt.Errorf("%w: not a JSON object", ErrSyntax)}
		}
		return Segment{}, &FieldError{Err: fmt.Errorf("%w: %w", ErrSyntax, err)}
	}
	if raw == nil {
		return Segment{}, &FieldError{Err: fmt.Errorf("%w: not a JSON object", ErrSyntax)}
	}
	var s Segment
	var err error
	if s.StreamID, err = stringField(raw, "stream_id", true, maxNameBytes); err != nil {
		return Segment{}, err
	}
	if err := ValidateStreamID(s.StreamID); err != nil {
		return Segment{}, &FieldError{Field: "stream_id", Err: err}
	}
	if s.Speaker, err = stringField(raw, "speaker", false, maxNameBytes); err != nil {
		return Segment{}, err
	}
	if s.Start, err = timeField(raw, "start"); err != nil {
		return Segment{}, err
	}
	if s.End, err = timeField(raw, "end"); err != nil {
		return Segment{}, err
	}
	if s.Start.IsWall() != s.End.IsWall() {
		return Segment{}, &FieldError{Field: "end", Err: fmt.Errorf("%w: start and end must both be RFC 3339 or both seconds", ErrRange)}
	}
	if s.End.Resolve(time.Time{}).Before(s.Start.Resolve(time.Time{})) {
		return Segment{}, &FieldError{Field: "end", Err: fmt.Errorf("%w: end before start", ErrRange)}
	}
	if s.Text, err = stringField(raw, "text", true, maxText); err != nil {
		return Segment{}, err
	}
	if s.Final, err = boolField(raw, "final"); err != nil {
		return Segment{}, err
	}
	if s.Lang, err = stringField(raw, "lang", false, maxLangBytes); err != nil {
		return Segment{}, err
	}
	if !validLang(s.Lang) {
		return Segment{}, &FieldError{Field: "lang", Err: fmt.Errorf("%w: %q is not a BCP 47 tag", ErrType, s.Lang)}
	}
	return s, nil
}

// present returns the raw value of a field, or nil when it is absent or
// null.
func present(raw map[string]json.RawMessage, name string) json.RawMessage {
	v := raw[name]
	if v == nil || string(v) == "null" {
		return nil
	}
	return v
}

func stringField(raw map[string]json.RawMessage, name string, required bool, limit int) (string, error) {
	v := present(raw, name)
	if v == nil {
		if required {
			return "", &FieldError{Field: name, Err: ErrMissing}
		}
		return "", nil
	}
	if v[0] != '"' {
		return "", &FieldError{Field: name, Err: fmt.Errorf("%w: want a string", ErrType)}
	}
	// encoding/json replaces invalid UTF-8 with U+FFFD; reject it instead.
	if !utf8.Valid(v) {
		return "", &FieldError{Field: name, Err: ErrUTF8}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", &FieldError{Field: name, Err: fmt.Errorf("%w: %w", ErrType, err)}
	}
	if len(s) > limit {
		return "", &FieldError{Field: name, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(s), limit)}
	}
	return s, nil
}

func timeField(raw map[string]json.RawMessage, name string) (Time, error) {
	v := present(raw, name)
	if v == nil {
		return Time{}, &FieldError{Field: name, Err: ErrMissing}
	}
	if !utf8.Valid(v) {
		return Time{}, &FieldError{Field: name, Err: ErrUTF8}
	}
	var t Time
	if err := t.UnmarshalJSON(v); err != nil {
		return Time{}, &FieldError{Field: name, Err: err}
	}
	return t, nil
}

func boolField(raw map[string]json.RawMessage, name string) (bool, error) {
	switch string(present(raw, name)) {
	case "":
		return false, &FieldError{Field: name, Err: ErrMissing}
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &FieldError{Field: name, Err: fmt.Errorf("%w: want true or false", ErrType)}
}

// validLang reports whether s is empty or shaped like a BCP 47 tag:
// subtags of 1 to 8 ASCII letters or digits separated by hyphens.
func validLang(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-':
			if n == 0 || i == len(s)-1 {
				return false
			}
			n = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			n++
			if n > 8 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
