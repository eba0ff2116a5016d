// Package app wires the CMC flow of cmc-stream run and cmc-stream demo
// onto the pipeline runner: sources of media and transcripts, the aligner
// that cuts them into windows, the scorer that extracts each window's
// features and runs the model, and the sinks that receive the events.
//
// # Reliability
//
// A Kafka feed (transcript segments, and audio chunks of the same streams,
// keyed by stream id) is read as a member of a consumer group, so several
// processes share its partitions; an offset is committed only once every
// sink accepted the events built from its message, or once its failure was
// written to the dead-letter topic (sinks.dead_letter). Delivery is at
// least once, and an utterance's event keeps its id (numbered by the
// segment's start in milliseconds) in whichever process scores it again.
//
// Bad input never stops a stream: a malformed message (bad JSON, wrong
// types, missing fields, oversize or non-UTF-8 text, a key that is not the
// stream id, a broken audio chunk), an item at a time the stream cannot
// take (late, far in the future, before the stream's start), an audio chunk
// at the wrong rate, and a window whose event fails validation are each
// logged, counted (Summary.Rejected, Summary.Failed) and dead-lettered with
// the reason. The Kafka event sink retries failed writes with back-off for
// sinks.kafka.retry_timeout before it gives the events up to the dead-letter
// topic, whose writes retry until they succeed or the pipeline stops hard.
// The operations port (internal/ops, ObservabilityConfig) serves the App's
// Prometheus registry at /metrics; its /readyz reports not ready, naming
// the topic, while a Kafka topic of the pipeline is unreachable, and while
// the pipeline is not running. A camera or video URL that stops delivering
// frames is opened again after the runner's back-off.
package app
