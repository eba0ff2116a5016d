// Package align groups the media and transcript items of each stream into
// windows in event time, the unit the feature extractors and the CMC model
// score.
//
// Items carry event time: a time.Duration from the start of their stream
// (a frame's presentation timestamp, an audio chunk's first sample, a
// transcript segment's start and end). The Aligner keeps per-stream state: a
// watermark per modality (the furthest event time seen), a bounded buffer of
// media items, and the windows waiting to be emitted.
//
// # Window policies
//
// Utterance (the default) makes one window per final transcript segment,
// covering [Start, End) of the segment: the unit of the CMU-MOSI and CH-SIMS
// clips. A non-final (interim) segment updates the stream's draft utterance,
// which holds the media it covers in the buffer until the final segment
// arrives.
//
// Sliding makes windows of Config.Size every Config.Hop, starting at
// Config.Offset: window k covers [Offset+k*Hop, Offset+k*Hop+Size). Its text
// joins the final segments that overlap it. A window that holds no item at
// all when it falls due (a gap in every modality) is skipped and takes no
// sequence number.
//
// # Watermarks, lateness and drops
//
// A window falls due once any watermark of its stream passes its end plus
// Config.AllowedLateness. It is emitted as soon as the watermarks of every
// awaited modality pass that point, where the awaited modalities are those
// the stream has sent so far plus Config.Expect (text is not awaited by
// utterance windows, which come from the text). A window still waiting
// Config.MaxWait after it fell due, on the injected clock, is emitted anyway
// and marked Forced; its missing modalities are absent from Window.Present.
// So a stream without video is still scored.
//
// Every drop is counted in Stats, never silent:
//   - Late: an item behind its modality's watermark by more than
//     AllowedLateness, or one that could only fall into windows already
//     emitted, is dropped and Add returns ErrLate.
//   - Overflow: a stream buffering more than Config.MaxBuffered media items
//     drops its oldest item.
//   - Unused: a media item that fell into no window (such as the audio
//     between two utterances) is pruned once no future window can need it.
//   - Expired: a stream with no input for Config.IdleTimeout is flushed and
//     removed by Tick.
//
// # Using the Aligner
//
// Call Add for every input, Tick periodically (it applies MaxWait and
// IdleTimeout), and Flush at the end of input. Each returns the windows that
// became ready. An Aligner is safe for concurrent use; windows of one stream
// are returned in sequence order by each call, so a caller that needs them in
// order overall serialises its calls (a pipeline stage with one worker does).
//
// # Acknowledgement
//
// An input may carry an opaque Ref (see WithRef). A window lists the Refs of
// its inputs, and Released hands each Ref back once the Aligner no longer
// holds that input. Stage builds on them to run an Aligner as a
// pipeline.Retainer, so that a transcript read from Kafka is committed only
// after the event built from its window was delivered (see
// Example_pipeline).
//
// The package is pure Go with no cgo and no I/O; of cmc-stream it imports
// only the pipeline contracts.
package align
