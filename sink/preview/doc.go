// Package preview publishes a live preview of video streams to the
// dashboard: a few times a second per stream, the latest frame downscaled
// to a small JPEG, with the boxes of the faces vision detected in it and
// the scored face's expression probabilities.
//
// A Hub takes frames from the vision stage (Due, then Publish, neither of
// which blocks) and serves them as a Server-Sent Events feed (ServeHTTP,
// mounted by the HTTP sink at "preview" next to "events", behind its Host
// check and optional token). Each SSE event has type "preview" and one JSON
// object on its data line, the JPEG in base64 (see Message). Frames are
// never written to disk: they live in memory until every connected client
// was sent them or they were replaced by a newer frame of their stream.
//
// Nothing waits for a slow consumer: a stream's frame is due at most once
// per Config.Interval and only while a client is connected; a due frame is
// dropped when the encoder is still busy with Config.Queue others, and a
// client keeps only the latest unsent frame of each stream, the older one
// dropped. Both drops are counted in cmc_preview_frames_discarded_total by
// reason ("encoder", "client").
package preview
