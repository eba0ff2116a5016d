// Package event defines the records that enter and leave a cmc-stream
// pipeline: the sentiment event of schema cmc.sentiment.v2 (Event), the
// per-call summary (CallSummary, cmc.call_summary.v1) and the alert (Alert,
// cmc.alert.v1), which the sinks publish, and the transcript segment
// (Segment), which the transcript sources decode from JSON. The JSON Schema
// of each published record is embedded (JSONSchema, SchemaNames).
//
// An Event reports the fused three-class sentiment of one window of one
// stream together with what each modality says on its own, the router weight
// the Calibrated Multimodal Consensus model gave it, and how much the
// modalities agree (Chen et al., "Calibrated Multimodal Consensus",
// arXiv 2510.20256). Event ids are deterministic (see ID), so a consumer of an
// at-least-once stream can de-duplicate.
//
// Segment decoding is strict about what it accepts: every problem is reported
// as a *FieldError naming the JSON field, wrapping one of the sentinel errors
// (ErrSyntax, ErrMissing, ErrType, ErrUTF8, ErrTooLarge, ErrRange), so a
// source can dead-letter the message with a precise reason.
//
// The types in this package are plain values: they are safe for concurrent
// reads, and no method mutates its receiver.
package event
