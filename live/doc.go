// Package live wires the CMC flow of cmc-stream run and cmc-stream demo
// onto the pipeline runner: sources of media and transcripts, the aligner
// that cuts them into windows, the scorer that extracts each window's
// features and runs the model, and the sinks that receive the events.
package live
