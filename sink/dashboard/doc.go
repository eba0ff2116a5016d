// Package dashboard holds the live dashboard of cmc-stream: one static HTML page
// with its style sheet and script, embedded in the binary with embed.FS and
// served at "/" by the HTTP sink.
//
// The page needs no build step, loads nothing from other origins (no CDN, no
// web fonts) and works offline. It subscribes to the sink's Server-Sent
// Events feed at "events" (relative to the page, so the dashboard also works
// behind a path prefix) with an EventSource, which reconnects by itself (and
// when the browser gives up, the page retries with backoff up to 30 s). It
// reads the SSE events of type "sentiment", each carrying one event of
// schema cmc.sentiment.v2 as JSON (see package event), as the HTTP sink of
// package sink writes them, and those of types "alert" (cmc.alert.v1) and
// "call_summary" (cmc.call_summary.v1). On connecting it first receives the
// recent records of every stream that the HTTP sink keeps, so a page opened
// mid-call shows the calls so far.
//
// The page opens on the list of calls: per stream its speaker, latest
// fused label and score, a sparkline of its last 30 scores, its alerts (the
// count and the latest rule), a conflict marker when the latest window's
// experts disagreed with the fused label, and whether it is live or ended
// (its summary arrived). Clicking a column header sorts by it (again: the
// other way); clicking a row selects the stream, whose card lists its alerts
// and, once it ended, its summary per speaker.
//
// For the selected stream the page also shows:
//
//   - the fused label and its three class probabilities, with a line chart
//     of the last 60 windows (one stream at a time, chosen from a list of the
//     streams seen);
//   - each modality's (text, audio, vision) own label and class
//     probabilities and its router weight as bars, absent modalities greyed
//     out and marked "absent";
//   - the parameter-free fusion's 3x3 cosine similarity matrix as a heat map
//     with the values written in the cells, and the agreement;
//   - the latest transcript line and the feature, model and end-to-end
//     latencies in milliseconds;
//   - counters: messages received, streams, drops, and malformed messages.
//
// With the HTTP sink's preview on (sinks.http.preview), the page also
// subscribes to the feed at "preview" (package sink/preview) and shows a
// camera card: the latest frame of the selected stream (or of the stream
// seen last) as a JPEG, a box over it per detected face, placed in
// fractions of the image (solid for the face whose expression was scored,
// dashed for the others), the number of faces and the scored face's
// expression probabilities. The card stays hidden until a frame arrives;
// a refused feed (preview off) is retried with backoff up to 30 s. A
// preview message that breaks its format counts as malformed.
//
// Drops come from the sink's Prometheus text at "metrics", read every 5 s:
// the page sums the samples of every metric whose name has a "drop",
// "drops", "dropped" or "late" word between underscores, such as the sink's
// cmc_sink_http_sse_dropped_total. When that endpoint is missing or reports
// no such metric, the page counts the windows it sees missing instead (gaps
// in window.seq per stream and window kind). A window delivered again is
// not plotted twice, and a window number that goes backwards (a restarted
// or replayed stream) starts that stream's timeline afresh. The page keeps the last 60 windows
// of at most 64 streams, forgetting the least recently updated stream but
// never the selected one.
//
// The page never trusts event data: text reaches the DOM only through
// textContent and attributes, never innerHTML. A message that is not JSON or
// breaks the schema (a missing or mistyped field, a number that is not
// finite or out of range, an unknown label) is counted as malformed; the
// page shows what it can of it, marks the rest as unavailable, and goes on
// with the next message. The last problem found is shown next to the count.
//
// The files are served as they are; FS is safe for concurrent use.
package dashboard
