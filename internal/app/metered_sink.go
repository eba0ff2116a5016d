package app

import (
	"context"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// meteredSink counts the CPU time of its sink's writes (and flush) as
// cputime.Sinks.
type meteredSink struct {
	pipeline.Sink[event.Event]
	cpu *cputime.Meter
}

// metered returns s, wrapped to count its CPU time when cpu is set.
func metered(s pipeline.Sink[event.Event], cpu *cputime.Meter) pipeline.Sink[event.Event] {
	if cpu == nil {
		return s
	}
	return meteredSink{Sink: s, cpu: cpu}
}

// Write writes the batch through the sink.
func (m meteredSink) Write(ctx context.Context, batch []event.Event) error {
	sp := m.cpu.Begin()
	defer sp.End()
	defer sp.Lap(cputime.Sinks)
	return m.Sink.Write(ctx, batch)
}

// Flush flushes the sink if it buffers (pipeline.Flusher).
func (m meteredSink) Flush(ctx context.Context) error {
	f, ok := m.Sink.(pipeline.Flusher)
	if !ok {
		return nil
	}
	sp := m.cpu.Begin()
	defer sp.End()
	defer sp.Lap(cputime.Sinks)
	return f.Flush(ctx)
}

var _ pipeline.Flusher = meteredSink{}
