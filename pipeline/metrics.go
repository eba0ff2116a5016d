package pipeline

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
	// latency is the Prometheus histogram of Process or Write durations;
	// nil for a source.
	latency prometheus.Histogram
	// queue reports the length and capacity of the node's output channel;
	// nil for a sink.
	queue func() (n, capacity int)
}

// observe adds one latency sample to the histogram.
func (m *nodeMetrics) observe(d time.Duration) {
	m.latency.Observe(d.Seconds())
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
	}
	if m.latency != nil {
		s.Latency = histogramSnapshot(m.latency)
	}
	if m.queue != nil {
		s.Queue, s.QueueCap = m.queue()
	}
	return s
}

// histogramSnapshot reads a latency histogram's classic buckets back into
// per-bucket counts.
func histogramSnapshot(h prometheus.Histogram) Histogram {
	var pb dto.Metric
	if err := h.Write(&pb); err != nil {
		// A histogram of the client library always writes itself.
		panic("pipeline: " + err.Error())
	}
	ph := pb.GetHistogram()
	out := Histogram{
		Counts: make([]uint64, histogramBuckets+1),
		Count:  ph.GetSampleCount(),
		Sum:    time.Duration(math.Round(ph.GetSampleSum() * float64(time.Second))),
	}
	var below uint64
	for i, b := range ph.GetBucket() {
		out.Counts[i] = b.GetCumulativeCount() - below
		below = b.GetCumulativeCount()
	}
	out.Counts[histogramBuckets] = out.Count - below
	return out
}

// The names of the metrics the Runner exports, each labelled with the
// node's name as "stage".
const (
	metricItems    = "cmc_stage_items_total"
	metricReceived = "cmc_stage_received_total"
	metricErrors   = "cmc_stage_errors_total"
	metricInFlight = "cmc_stage_in_flight"
	metricQueue    = "cmc_stage_queue_depth"
	metricQueueCap = "cmc_stage_queue_capacity"
	metricLatency  = "cmc_stage_latency_seconds"
)

// nativeBucketFactor is the growth factor of the latency histograms'
// native (sparse) buckets: at most 10 % between bucket bounds.
const nativeBucketFactor = 1.1

// newLatencyVec returns the latency histograms of a Runner's stages and
// sinks: the classic buckets of LatencyBounds for the text format, and
// native buckets for scrapers that ask for them.
func newLatencyVec() *prometheus.HistogramVec {
	bounds := LatencyBounds()
	buckets := make([]float64, len(bounds))
	for i, b := range bounds {
		buckets[i] = b.Seconds()
	}
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                            metricLatency,
		Help:                            "Time per item in a stage (Process) or per batch in a sink (Write).",
		Buckets:                         buckets,
		NativeHistogramBucketFactor:     nativeBucketFactor,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, []string{"stage"})
}

// descs are the descriptions of the metrics the Runner exports besides the
// latency histograms.
var descs = struct {
	items, received, errs, inFlight, queue, queueCap *prometheus.Desc
}{
	items:    prometheus.NewDesc(metricItems, "Items a node passed on: read by a source, output by a stage, accepted by a sink.", []string{"stage"}, nil),
	received: prometheus.NewDesc(metricReceived, "Items a node received: read by a source, taken by a stage or a sink.", []string{"stage"}, nil),
	errs:     prometheus.NewDesc(metricErrors, "Failed items of a node, plus the Connect, Read, Flush and Close errors of sources and sinks.", []string{"stage"}, nil),
	inFlight: prometheus.NewDesc(metricInFlight, "Items a node holds right now: being processed, written or waiting to be sent on.", []string{"stage"}, nil),
	queue:    prometheus.NewDesc(metricQueue, "Items waiting in a node's output queue.", []string{"stage"}, nil),
	queueCap: prometheus.NewDesc(metricQueueCap, "Capacity of a node's output queue.", []string{"stage"}, nil),
}

var _ prometheus.Collector = (*Runner)(nil)

// Describe sends the descriptions of the Runner's metrics; with Collect it
// makes the Runner a prometheus.Collector, to register on the process's
// registry.
func (r *Runner) Describe(ch chan<- *prometheus.Desc) {
	ch <- descs.items
	ch <- descs.received
	ch <- descs.errs
	ch <- descs.inFlight
	ch <- descs.queue
	ch <- descs.queueCap
	r.latency.Describe(ch)
}

// Collect sends every node's metrics, read at the time of the call:
// cmc_stage_items_total, cmc_stage_received_total, cmc_stage_errors_total,
// cmc_stage_in_flight, for sources and stages cmc_stage_queue_depth and
// cmc_stage_queue_capacity, and for stages and sinks the histogram
// cmc_stage_latency_seconds, each labelled with the node's name as "stage".
// It is safe for concurrent use, also while Run is running.
func (r *Runner) Collect(ch chan<- prometheus.Metric) {
	for _, m := range r.Metrics() {
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), m.Name)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, m.Name)
		}
		counter(descs.items, m.Out)
		counter(descs.received, m.In)
		counter(descs.errs, m.Errors)
		gauge(descs.inFlight, float64(m.InFlight))
		if m.Kind != KindSink {
			gauge(descs.queue, float64(m.Queue))
			gauge(descs.queueCap, float64(m.QueueCap))
		}
	}
	r.latency.Collect(ch)
}
