// Package sink delivers sentiment events (event.Event) to where people and
// programs consume them: a terminal or file (Stdout), a Kafka topic (Kafka),
// and an HTTP server with a Server-Sent Events feed, health and readiness
// probes, Prometheus metrics and the dashboard (HTTP).
//
// Every sink implements Sink, the pipeline's sink contract for events, so the
// pipeline runner drives them directly; the HTTP sink, whose clients receive
// events asynchronously, also implements pipeline.Flusher. The conformance
// suite in sink/sinktest runs against every implementation.
package sink
