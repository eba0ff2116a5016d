package app

import "testing"

// TestSummaryString: latencies that are all 0, which is what windows ending
// ahead of the wall clock give (media replayed faster than real time), are
// not printed as a measurement.
func TestSummaryString(t *testing.T) {
	for _, c := range []struct {
		s    Summary
		want string
	}{
		{Summary{Windows: 7, Events: 7, LatencyP50: 41.3, LatencyP99: 96.5}, "windows 7, events 7, filtered 0, failed 0, rejected 0, drops 0, end-to-end latency p50 41.3 ms, p99 96.5 ms"},
		{Summary{Windows: 7, Events: 7}, "windows 7, events 7, filtered 0, failed 0, rejected 0, drops 0, end-to-end latency n/a (media replayed faster than real time)"},
		{Summary{Rejected: 3}, "windows 0, events 0, filtered 0, failed 0, rejected 3, drops 0, end-to-end latency p50 0.0 ms, p99 0.0 ms"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.s, got, c.want)
		}
	}
}
