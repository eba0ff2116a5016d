// Package insight turns the stream of sentiment events into what a
// supervisor acts on: a per-call summary (event.CallSummary) when a stream
// ends, and alerts (event.Alert) when a configured rule fires.
//
// A Tracker is an event sink of the pipeline: it sees every event after the
// scorer, keeps per stream and speaker what the summaries and rules need, and
// publishes its records to Publishers (the stdout, Kafka, HTTP and webhook
// sinks). It imports only event and pipeline, not the sources: a stream's
// end reaches it as a call (EndStream for a Kafka end-of-call marker, Close
// for the end of the input) or through its idle timeout, so the same code
// serves every kind of input.
package insight
