package align

import "time"

// Window is the unit of scoring: the items of one stream that fall into one
// span of event time.
type Window struct {
	// StreamID identifies the stream.
	StreamID string
	// Speaker is the utterance's speaker; for a sliding window, the speaker
	// of the final segment overlapping it most; empty when unknown.
	Speaker string
	// Lang is the language of the same segment as Speaker.
	Lang string
	// Kind is the policy that made the window.
	Kind Policy
	// Seq numbers the window within its stream, as Config.Numbering says:
	// from 0 in emission order (Count, which is also event-time order), or
	// by the utterance's start in milliseconds (StartMillis). The stream,
	// Kind and Seq identify the window, and so its event.
	Seq uint64
	// Start and End bound the window in event time: [Start, End).
	Start, End time.Duration
	// Origin is the wall-clock time of the stream's event time 0, as the
	// stream's latest input that carried one gave it (Media.Origin,
	// Segment.Origin); zero when none did. Origin.Add(Start) is the
	// window's start in wall-clock time.
	Origin time.Time
	// Text is the utterance's text, or the texts of the final segments
	// overlapping a sliding window joined by spaces (a segment without
	// text adds none).
	Text string
	// Audio holds the audio chunks overlapping the window, in time order,
	// trimmed to the samples whose time lies in [Start, End); each chunk's
	// Time is that of its first kept sample. The samples share memory with
	// the inputs: read-only.
	Audio []Media
	// Vision holds the frames whose Time lies in [Start, End), in time
	// order.
	Vision []Media
	// Present is the set of modalities with data in the window: Text when
	// Text is not empty, Audio and Vision when they hold items.
	Present Modalities
	// Refs holds the non-nil Ref of every input that fell into the window:
	// its media items and its transcript segments.
	Refs []any
	// Forced is true when the window was emitted before the watermarks of
	// every awaited modality passed its end (after Config.MaxWait, at Flush,
	// or when its stream expired), so data still on its way was left out.
	Forced bool
}
