package pipeline

import (
	"sync/atomic"
	"time"
)

// NodeKind tells what part of a pipeline a node is.
type NodeKind int

// The node kinds.
const (
	// KindSource is the group of sources added by one call to From.
	KindSource NodeKind = iota
	// KindStage is a stage added with Via.
	KindStage
	// KindSink is a sink added with To.
	KindSink
)

// String returns "source", "stage" or "sink".
func (k NodeKind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindStage:
		return "stage"
	case KindSink:
		return "sink"
	}
	return "unknown"
}

// histogramBuckets is the number of finite latency buckets: 100 µs doubling
// up to 100 µs * 2^17 (about 13.1 s), which spans a per-frame feature
// extractor to a stalled network sink.
const histogramBuckets = 18

// firstBound is the upper bound of the first latency bucket.
const firstBound = 100 * time.Microsecond

// LatencyBounds returns the upper bounds of the latency histogram buckets, in
// ascending order: 100 µs, 200 µs, 400 µs, ... 13.1072 s. It returns a new
// slice on every call.
func LatencyBounds() []time.Duration {
	b := make([]time.Duration, histogramBuckets)
	for i := range b {
		b[i] = firstBound << i
	}
	return b
}

// Histogram is a snapshot of a latency histogram.
type Histogram struct {
	// Counts holds len(LatencyBounds())+1 bucket counts: Counts[i] counts
	// the samples d with LatencyBounds()[i-1] < d <= LatencyBounds()[i], and
	// the last entry counts the samples above the largest bound.
	Counts []uint64
	// Count is the number of samples.
	Count uint64
	// Sum is the total of the samples.
	Sum time.Duration
}

// NodeMetrics is a snapshot of one node's metrics. The fields are read one
// by one while the pipeline runs, so they may be mutually off by the items
// moving during the snapshot.
type NodeMetrics struct {
	// Name is the name given to From, Via or To.
	Name string
	// Kind is the node's kind.
	Kind NodeKind
	// In counts the items received: for a source, the items read.
	In uint64
	// Out counts the items passed on: for a source, the items sent
	// downstream; for a stage, the outputs sent downstream; for a sink, the
	// items Write accepted.
	Out uint64
	// Errors counts failed items, plus Connect, Read, Flush and Close
	// errors for sources and sinks.
	Errors uint64
	// InFlight is the number of items the node holds right now: being
	// processed, written, or waiting to be sent downstream.
	InFlight int64
	// Queue is the number of items waiting in the node's output channel;
	// always 0 for a sink.
	Queue int
	// QueueCap is the capacity of the node's output channel; always 0 for a
	// sink.
	QueueCap int
	// Latency is the histogram of Process durations for a stage and of Write
	// durations (one sample per batch) for a sink; empty for a source.
	Latency Histogram
}

// nodeMetrics holds one node's live metrics; every field is updated
// atomically, so a node's goroutines share it without locks.
type nodeMetrics struct {
	name     string
	kind     NodeKind
	in       atomic.Uint64
	out      atomic.Uint64
	errs     atomic.Uint64
	inFlight atomic.Int64
	count    atomic.Uint64
	sum      atomic.Int64
	buckets  [histogramBuckets + 1]atomic.Uint64
	// queue reports the length and capacity of the node's output channel;
	// nil for a sink.
	queue func() (n, capacity int)
}

// observe adds one latency sample to the histogram.
func (m *nodeMetrics) observe(d time.Duration) {
	i := 0
	for i < histogramBuckets && d > firstBound<<i {
		i++
	}
	m.buckets[i].Add(1)
	m.count.Add(1)
	m.sum.Add(int64(d))
}

// snapshot copies the live metrics.
func (m *nodeMetrics) snapshot() NodeMetrics {
	s := NodeMetrics{
		Name:     m.name,
		Kind:     m.kind,
		In:       m.in.Load(),
		Out:      m.out.Load(),
		Errors:   m.errs.Load(),
		InFlight: m.inFlight.Load(),
		Latency: Histogram{
			Counts: make([]uint64, len(m.buckets)),
			Count:  m.count.Load(),
			Sum:    time.Duration(m.sum.Load()),
		},
	}
	for i := range m.buckets {
		s.Latency.Counts[i] = m.buckets[i].Load()
	}
	if m.queue != nil {
		s.Queue, s.QueueCap = m.queue()
	}
	return s
}
