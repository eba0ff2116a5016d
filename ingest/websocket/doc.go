// Package websocket is a pipeline source of calls streamed over WebSocket,
// the way phone systems stream calls out: each connection is one stream.
//
// Two protocols are spoken, one per listener:
//
//   - "twilio": Twilio Media Streams (the <Connect><Stream> and
//     <Start><Stream> TwiML nouns). Twilio sends a "connected" message, a
//     "start" message with the streamSid, the callSid, the tracks, the media
//     format and the custom parameters, "media" messages of base64 8 kHz
//     mu-law audio (20 ms each, track "inbound" or "outbound", a timestamp in
//     ms from the stream's start), and a "stop" message. The callSid is the
//     stream id; each track is the audio of a speaker role (by default
//     inbound, the caller, is "customer" and outbound "agent").
//   - "cmc": cmc-stream's own JSON, the messages of the Kafka feed: audio
//     chunks (event.DecodeAudioChunk) and transcript segments
//     (event.SegmentDecoder), one per text frame, all of the connection's
//     stream (the first message's stream_id), so that a browser page or any
//     program can stream a call or a microphone.
//
// A connection is accepted only with the token, when one is configured: in
// an "Authorization: Bearer" header or a "token" query parameter, or, for
// Twilio (whose stream URLs carry neither), a "token" custom parameter of
// the start message. Frames are bounded (Config.MaxFrameBytes); a frame
// that is too large, not text, not JSON, not a valid message, of another
// stream, or out of the protocol's order closes its connection with a
// WebSocket close code (1009, 1003, 1007 or 1008) and is counted by reason
// (Stats.Rejected); the other connections and the source go on. Browsers'
// cross-origin connections are refused (the Origin must match the Host).
// The source listens on loopback unless told otherwise.
package websocket
