package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/cmc-stream/cmc-stream/event"
)

// Publisher delivers records other than sentiment events: per-call
// summaries and alerts (package insight publishes them). The Stdout, Kafka,
// HTTP and Webhook sinks implement it.
type Publisher interface {
	// Publish delivers the records, failing like Write.
	Publish(ctx context.Context, records []event.Record) error
}

var (
	_ Publisher = (*Stdout)(nil)
	_ Publisher = (*Kafka)(nil)
	_ Publisher = (*HTTP)(nil)
	_ Publisher = (*Webhook)(nil)
)

// sseType returns the SSE event type of a record: "sentiment",
// "call_summary" or "alert".
func sseType(r event.Record) string {
	switch r.(type) {
	case *event.CallSummary:
		return "call_summary"
	case *event.Alert:
		return "alert"
	}
	return "sentiment"
}

// Publish prints one line per record: its JSON in the JSONL format, a
// summary or alert line in the Text format.
func (s *Stdout) Publish(ctx context.Context, records []event.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: stdout: %w", err)
	}
	var buf []byte
	for _, r := range records {
		if s.format == JSONL {
			j, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("sink: stdout: %q: %w", r.RecordID(), err)
			}
			buf = append(append(buf, j...), '\n')
			continue
		}
		buf = appendRecordText(buf, r)
	}
	return s.writeLines(buf)
}

// appendRecordText renders a summary or an alert as one line, as in
//
//	call-42 summary (end_of_call): 24 windows 10:00:03-10:06:41; [customer] 18 windows, neg 0.44 neu 0.22 pos 0.33, mean -0.12, trend -0.05/min, first third +0.20, last third -0.41, most negative call-42/utt/212000 (-0.93), conflicts 5 (mostly text)
//	call-42 [customer] ALERT turned-negative: label negative for 3 consecutive windows (value 3) at 10:04:12.300 events call-42/utt/190000,call-42/utt/199000,call-42/utt/204000
//
// Names from the input (stream, speaker) are quoted when they hold
// anything but printable characters.
func appendRecordText(b []byte, r event.Record) []byte {
	const clock = "15:04:05.000"
	switch v := r.(type) {
	case *event.CallSummary:
		b = appendName(b, v.StreamID)
		b = fmt.Appendf(b, " summary (%s): %d windows %s-%s", v.Reason, v.Windows, v.Start.UTC().Format(clock), v.End.UTC().Format(clock))
		for _, s := range v.Speakers {
			b = append(b, "; ["...)
			b = appendName(b, s.Speaker)
			b = fmt.Appendf(b, "] %d windows, neg %.2f neu %.2f pos %.2f, mean %+.2f", s.Windows, s.Share.Negative, s.Share.Neutral, s.Share.Positive, s.MeanScore)
			if s.TrendPerMinute != nil {
				b = fmt.Appendf(b, ", trend %+.2f/min", *s.TrendPerMinute)
			}
			b = fmt.Appendf(b, ", first third %+.2f, last third %+.2f, most negative ", s.FirstThirdMeanScore, s.LastThirdMeanScore)
			b = appendName(b, s.MostNegativeEventID)
			b = fmt.Appendf(b, " (%+.2f), conflicts %d", s.MostNegativeScore, s.ConflictWindows)
			if s.MostDisagreeingModality != "" {
				b = fmt.Appendf(b, " (mostly %s)", s.MostDisagreeingModality)
			}
		}
	case *event.Alert:
		b = appendName(b, v.StreamID)
		if v.Speaker != "" {
			b = append(b, " ["...)
			b = appendName(b, v.Speaker)
			b = append(b, ']')
		}
		b = fmt.Appendf(b, " ALERT %s: %s (value %.4g) at %s events ", v.Rule, v.Condition, v.Value, v.At.UTC().Format(clock))
		b = appendName(b, strings.Join(v.EventIDs, ","))
	case *event.Event:
		return appendText(b, v)
	}
	return append(b, '\n')
}

// appendName appends s as it is when every rune is printable, else quoted.
func appendName(b []byte, s string) []byte {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}
