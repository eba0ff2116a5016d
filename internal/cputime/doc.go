// Package cputime reads CPU time: the process's, which benchmarks report
// beside wall time (on a shared machine the wall time depends on the other
// jobs, the CPU time hardly), and the split of a pipeline's CPU time by
// stage (decode, vision, text, audio, model, sinks) for bench pipeline's
// cost figures.
//
// A stage's work item is measured with the CPU clock of the OS thread that
// runs it (CLOCK_THREAD_CPUTIME_ID): a [Span] locks the calling goroutine
// to its thread from [Meter.Begin] to [Span.End], so the thread's CPU time
// between two readings is the goroutine's. What no span covers (the Go
// runtime and its collector, the queues between stages, the aligner, the
// Kafka client, threads that libraries start) is the process's CPU time
// ([Seconds]) minus the stages' sum.
package cputime
