package obs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/obs"
)

func TestWriteText(t *testing.T) {
	r := obs.NewRegistry()
	c := r.Counter("cmc_events_total", "Events written.\nPer sink.", "sink", `http "sse"`)
	r.Counter("cmc_events_total", "Events written.\nPer sink.", "sink", "kafka").Add(2)
	g := r.Gauge("cmc_clients", "Connected clients.")
	r.GaugeFunc("cmc_queue_depth", "Items queued.", func() float64 { return 7 })
	h := r.Histogram("cmc_latency_seconds", "Write latency.", []float64{0.001, 0.01, 0.1})
	c.Inc()
	g.Set(3)
	g.Add(-0.5)
	for _, v := range []float64{0.0005, 0.001, 0.05, 2} {
		h.Observe(v)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP cmc_clients Connected clients.
# TYPE cmc_clients gauge
cmc_clients 2.5
# HELP cmc_events_total Events written.\nPer sink.
# TYPE cmc_events_total counter
cmc_events_total{sink="http \"sse\""} 1
cmc_events_total{sink="kafka"} 2
# HELP cmc_latency_seconds Write latency.
# TYPE cmc_latency_seconds histogram
cmc_latency_seconds_bucket{le="0.001"} 2
cmc_latency_seconds_bucket{le="0.01"} 2
cmc_latency_seconds_bucket{le="0.1"} 3
cmc_latency_seconds_bucket{le="+Inf"} 4
cmc_latency_seconds_sum 2.0515
cmc_latency_seconds_count 4
# HELP cmc_queue_depth Items queued.
# TYPE cmc_queue_depth gauge
cmc_queue_depth 7
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	if h.Count() != 4 || c.Value() != 1 || g.Value() != 2.5 {
		t.Fatalf("values %d %d %v", h.Count(), c.Value(), g.Value())
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := map[string]func(r *obs.Registry){
		"duplicate":   func(r *obs.Registry) { r.Counter("a_total", ""); r.Counter("a_total", "") },
		"type clash":  func(r *obs.Registry) { r.Counter("a", ""); r.Gauge("a", "", "x", "y") },
		"bad name":    func(r *obs.Registry) { r.Gauge("1a", "") },
		"bad label":   func(r *obs.Registry) { r.Gauge("a", "", "le", "1") },
		"odd labels":  func(r *obs.Registry) { r.Gauge("a", "", "x") },
		"bad bounds":  func(r *obs.Registry) { r.Histogram("a", "", []float64{1, 1}) },
		"exponential": func(*obs.Registry) { obs.ExponentialBounds(0, 2, 3) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(obs.NewRegistry())
		})
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := obs.NewRegistry()
	c := r.Counter("c_total", "")
	g := r.Gauge("g", "")
	h := r.Histogram("h", "", obs.ExponentialBounds(1, 2, 4))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c.Inc()
				g.Add(1)
				h.Observe(float64(i % 20))
			}
			if err := r.WriteText(io.Discard); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c.Value() != 8000 || g.Value() != 8000 || h.Count() != 8000 {
		t.Fatalf("counter %d gauge %v histogram %d", c.Value(), g.Value(), h.Count())
	}
}

func TestServeHTTP(t *testing.T) {
	r := obs.NewRegistry()
	r.Counter("up_total", "Up.").Inc()
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != obs.ContentType || !strings.Contains(string(body), "up_total 1\n") {
		t.Fatalf("%s %q", resp.Header.Get("Content-Type"), body)
	}
}

func ExampleRegistry() {
	r := obs.NewRegistry()
	r.Counter("cmc_sink_events_total", "Events written by the sink.", "sink", "stdout").Add(3)
	_ = r.WriteText(os.Stdout)
	// Output:
	// # HELP cmc_sink_events_total Events written by the sink.
	// # TYPE cmc_sink_events_total counter
	// cmc_sink_events_total{sink="stdout"} 3
}

// TestHistogramFunc checks the exposition of a histogram read from a
// snapshot: cumulative buckets, sum and count.
func TestHistogramFunc(t *testing.T) {
	r := obs.NewRegistry()
	r.HistogramFunc("lat_seconds", "Latency.", []float64{0.1, 1}, func() obs.HistogramSnapshot {
		return obs.HistogramSnapshot{Counts: []uint64{2, 3, 1}, Sum: 4.5}
	}, "stage", "score")
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{stage="score",le="0.1"} 2
lat_seconds_bucket{stage="score",le="1"} 5
lat_seconds_bucket{stage="score",le="+Inf"} 6
lat_seconds_sum{stage="score"} 4.5
lat_seconds_count{stage="score"} 6
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
