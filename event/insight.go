package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// CallSummarySchema is the value of CallSummary.Schema.
const CallSummarySchema = "cmc.call_summary.v1"

// AlertSchema is the value of Alert.Schema.
const AlertSchema = "cmc.alert.v1"

// EndReason tells why a stream was taken as ended.
type EndReason string

// The reasons a stream ends.
const (
	// EndOfInput is the end of the stream's input: a file or WebSocket
	// that ended, or the pipeline shutting down.
	EndOfInput EndReason = "end_of_input"
	// EndOfCall is an end-of-call marker message on the transcript feed.
	EndOfCall EndReason = "end_of_call"
	// Idle is no event of the stream for the configured idle timeout.
	Idle EndReason = "idle"
	// WindowLimit is the stream reaching the configured number of windows
	// per summary; its later windows go into a new summary.
	WindowLimit EndReason = "window_limit"
)

// CallSummary summarises one stream (a call) when it ends: schema
// cmc.call_summary.v1, one JSON object per stream.
type CallSummary struct {
	// Schema is always CallSummarySchema.
	Schema string `json:"schema"`
	// SummaryID is SummaryID(StreamID, Start): deterministic, so a consumer
	// can de-duplicate.
	SummaryID string `json:"summary_id"`
	// StreamID names the stream.
	StreamID string `json:"stream_id"`
	// Start is the start of the stream's first window.
	Start time.Time `json:"start"`
	// End is the end of the stream's last window.
	End time.Time `json:"end"`
	// Reason tells why the stream was taken as ended.
	Reason EndReason `json:"reason"`
	// Windows is the number of events of the stream.
	Windows int `json:"windows"`
	// Speakers summarises each speaker's windows, in order of first
	// appearance; windows without a speaker are under the speaker "".
	Speakers []SpeakerSummary `json:"speakers"`
}

// LabelShare is the fraction of windows with each fused label; the three
// add up to 1.
type LabelShare struct {
	// Negative is the share of negative windows, in [0, 1].
	Negative float64 `json:"negative"`
	// Neutral is the share of neutral windows, in [0, 1].
	Neutral float64 `json:"neutral"`
	// Positive is the share of positive windows, in [0, 1].
	Positive float64 `json:"positive"`
}

// Disagreements counts, per modality, the windows whose present expert's
// label differed from the fused label.
type Disagreements struct {
	// Text counts the windows where the text expert disagreed.
	Text int `json:"text"`
	// Audio counts the windows where the audio expert disagreed.
	Audio int `json:"audio"`
	// Vision counts the windows where the vision expert disagreed.
	Vision int `json:"vision"`
}

// SpeakerSummary summarises the windows of one speaker of a stream. Scores
// are the fused Event.Score, in [-1, 1].
type SpeakerSummary struct {
	// Speaker is the speaker's name, "" when the windows had none.
	Speaker string `json:"speaker"`
	// Windows is the number of the speaker's events.
	Windows int `json:"windows"`
	// Share is the share of each fused label.
	Share LabelShare `json:"share"`
	// MeanScore is the mean score.
	MeanScore float64 `json:"mean_score"`
	// TrendPerMinute is the least-squares slope of the score over the
	// window midpoints, in score units per minute; nil with fewer than two
	// distinct midpoints.
	TrendPerMinute *float64 `json:"trend_per_minute"`
	// FirstThirdMeanScore and LastThirdMeanScore are the mean scores of the
	// first and last max(1, ⌊n/3⌋) of the n windows, in window order.
	FirstThirdMeanScore float64 `json:"first_third_mean_score"`
	// LastThirdMeanScore: see FirstThirdMeanScore.
	LastThirdMeanScore float64 `json:"last_third_mean_score"`
	// MostNegativeEventID is the id of the window with the lowest score
	// (the earliest of equals).
	MostNegativeEventID string `json:"most_negative_event_id"`
	// MostNegativeScore is that window's score.
	MostNegativeScore float64 `json:"most_negative_score"`
	// ConflictWindows counts the windows with Consensus.Conflict.
	ConflictWindows int `json:"conflict_windows"`
	// Disagreements counts, per modality, the windows it disagreed in.
	Disagreements Disagreements `json:"disagreements"`
	// MostDisagreeingModality is the modality with the most disagreements
	// ("text", "audio" or "vision"; the earlier of equals), "" when no
	// expert ever disagreed.
	MostDisagreeingModality string `json:"most_disagreeing_modality"`
}

// SummaryID returns the deterministic id of the summary of a stream whose
// first window starts at start: "<stream>/summary/<start in Unix ms>".
func SummaryID(streamID string, start time.Time) string {
	return streamID + "/summary/" + strconv.FormatInt(start.UnixMilli(), 10)
}

// Alert is a configured rule firing on a stream: schema cmc.alert.v1. A
// rule fires once when its condition becomes true and again only after the
// condition cleared.
type Alert struct {
	// Schema is always AlertSchema.
	Schema string `json:"schema"`
	// AlertID is AlertID(Rule, the last of EventIDs): deterministic.
	AlertID string `json:"alert_id"`
	// Rule is the rule's configured name.
	Rule string `json:"rule"`
	// Condition is the rule's condition as configured, such as
	// "label negative for 3 consecutive windows".
	Condition string `json:"condition"`
	// StreamID names the stream.
	StreamID string `json:"stream_id"`
	// Speaker is the speaker of the triggering windows, if any.
	Speaker string `json:"speaker,omitempty"`
	// At is the end of the last triggering window.
	At time.Time `json:"at"`
	// EventIDs are the ids of the events that made the condition true,
	// oldest first.
	EventIDs []string `json:"event_ids"`
	// Value is the measured quantity the condition compared: the number of
	// consecutive windows, the mean score, the score drop or the number of
	// conflict windows.
	Value float64 `json:"value"`
}

// AlertID returns the deterministic id of an alert of rule triggered by
// the event lastEventID: "<lastEventID>/alert/<rule>".
func AlertID(rule, lastEventID string) string {
	return lastEventID + "/alert/" + rule
}

// Record is a wire object a sink delivers: *Event, *CallSummary or *Alert.
type Record interface {
	// RecordSchema returns the schema name, such as "cmc.alert.v1".
	RecordSchema() string
	// RecordID returns the record's deterministic id.
	RecordID() string
	// RecordStream returns the stream id, the Kafka message key.
	RecordStream() string
}

// RecordSchema returns e.Schema.
func (e *Event) RecordSchema() string { return e.Schema }

// RecordID returns e.EventID.
func (e *Event) RecordID() string { return e.EventID }

// RecordStream returns e.StreamID.
func (e *Event) RecordStream() string { return e.StreamID }

// RecordSchema returns s.Schema.
func (s *CallSummary) RecordSchema() string { return s.Schema }

// RecordID returns s.SummaryID.
func (s *CallSummary) RecordID() string { return s.SummaryID }

// RecordStream returns s.StreamID.
func (s *CallSummary) RecordStream() string { return s.StreamID }

// RecordSchema returns a.Schema.
func (a *Alert) RecordSchema() string { return a.Schema }

// RecordID returns a.AlertID.
func (a *Alert) RecordID() string { return a.AlertID }

// RecordStream returns a.StreamID.
func (a *Alert) RecordStream() string { return a.StreamID }

// maxEndOfCallBytes bounds an end-of-call marker message.
const maxEndOfCallBytes = 4096

// IsEndOfCall reports whether a transcript-feed message looks like an
// end-of-call marker (it has an "end_of_call" key); DecodeEndOfCall then
// decodes it strictly.
func IsEndOfCall(data []byte) bool {
	return bytes.Contains(data, []byte(`"end_of_call"`))
}

// DecodeEndOfCall decodes the end-of-call marker of a transcript feed,
//
//	{"stream_id":"call-42","end_of_call":true}
//
// and returns its stream id: the call ended, and its summary can be
// published once its last windows are scored. Unknown fields, a missing or
// non-UTF-8 stream id, end_of_call other than true and messages over 4 KiB
// are errors (*FieldError, as for segments).
func DecodeEndOfCall(data []byte) (string, error) {
	if len(data) > maxEndOfCallBytes {
		return "", &FieldError{Field: "end_of_call", Err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		// encoding/json would turn the bad bytes into U+FFFD.
		return "", &FieldError{Field: "stream_id", Err: ErrUTF8}
	}
	var m struct {
		StreamID  *string `json:"stream_id"`
		EndOfCall *bool   `json:"end_of_call"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return "", &FieldError{Field: "end_of_call", Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	if dec.More() {
		return "", &FieldError{Field: "end_of_call", Err: fmt.Errorf("%w: data after the object", ErrSyntax)}
	}
	switch {
	case m.StreamID == nil || *m.StreamID == "":
		return "", &FieldError{Field: "stream_id", Err: ErrMissing}
	case m.EndOfCall == nil || !*m.EndOfCall:
		return "", &FieldError{Field: "end_of_call", Err: fmt.Errorf("%w: want true", ErrRange)}
	}
	return *m.StreamID, nil
}
