// Package transcript reads transcript segments from JSON Lines files: one
// segment object per line, in the form event.DecodeSegment accepts. It is
// the offline and test counterpart of the Kafka transcript source: a file of
// MOSI or SIMS utterances replays through the same pipeline as a live feed.
//
// A malformed line is returned as a *LineError naming the file and line, and
// reading goes on with the next line, so one bad line never stops a replay.
package transcript
