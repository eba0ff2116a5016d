package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TestCollector registers a Runner on a Prometheus registry and checks
// what a scrape reads after a run of four items, one of which the stage
// fails: the counters are counters, the queue gauges are absent for the
// sink, and the stage's and the sink's latency histograms hold one sample
// per item (stage, 3 ms each: the bucket of 3.2 ms) or per batch (sink, no
// time passes in the synctest bubble: the first bucket).
func TestCollector(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		src := &sliceSource{j: j, items: []int{1, 2, 3, 4}}
		sink := &recordingSink{name: "sink", j: j}
		slow := pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) {
			time.Sleep(3 * time.Millisecond) // fake time inside the bubble
			if x == 3 {
				return nil, errors.New("three")
			}
			return []int{x}, nil
		})
		r := newRunner(t, pipeline.Config{})
		pipeline.To(pipeline.Via(pipeline.From(r, "src", pipeline.SourceConfig{Buffer: 2}, src), "slow", pipeline.StageConfig{}, slow),
			"sink", pipeline.SinkConfig{BatchSize: 1}, sink)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(r)
		if err := r.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := `
# HELP cmc_stage_errors_total Failed items of a node, plus the Connect, Read, Flush and Close errors of sources and sinks.
# TYPE cmc_stage_errors_total counter
cmc_stage_errors_total{stage="sink"} 0
cmc_stage_errors_total{stage="slow"} 1
cmc_stage_errors_total{stage="src"} 0
# HELP cmc_stage_items_total Items a node passed on: read by a source, output by a stage, accepted by a sink.
# TYPE cmc_stage_items_total counter
cmc_stage_items_total{stage="sink"} 3
cmc_stage_items_total{stage="slow"} 3
cmc_stage_items_total{stage="src"} 4
# HELP cmc_stage_queue_capacity Capacity of a node's output queue.
# TYPE cmc_stage_queue_capacity gauge
cmc_stage_queue_capacity{stage="slow"} 0
cmc_stage_queue_capacity{stage="src"} 2
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cmc_stage_errors_total", "cmc_stage_items_total", "cmc_stage_queue_capacity"); err != nil {
			t.Error(err)
		}
		got, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]uint64{}
		for _, f := range got {
			if f.GetName() != "cmc_stage_latency_seconds" {
				continue
			}
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				stage := m.GetLabel()[0].GetValue()
				counts[stage] = h.GetSampleCount()
				// The classic bucket of 3.2 ms holds the stage's samples,
				// the first (100 µs) the sink's.
				le := map[string]float64{"slow": 0.0032, "sink": 0.0001}[stage]
				for _, b := range h.GetBucket() {
					if b.GetUpperBound() == le && b.GetCumulativeCount() != h.GetSampleCount() {
						t.Errorf("%s: %d samples up to %v s, want all %d", stage, b.GetCumulativeCount(), le, h.GetSampleCount())
					}
				}
				if h.GetSchema() == 0 && len(h.GetPositiveSpan()) == 0 && h.GetZeroCount() == 0 {
					t.Errorf("%s: no native histogram buckets", stage)
				}
			}
		}
		if counts["slow"] != 4 || counts["sink"] != 3 || len(counts) != 2 {
			t.Errorf("latency samples %v, want slow 4 and sink 3, none for the source", counts)
		}
	})
}
