package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cmc-stream/cmc-stream/internal/broker"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// metricsText gathers g in the Prometheus text format.
func metricsText(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// httpGet sends GET url with a real client and returns the status and
// body; accept, when not empty, is the Accept header.
func httpGet(url, accept string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestOperationsPortKafkaOnly runs a Kafka-to-Kafka pipeline (an embedded
// broker of internal/broker, no dashboard, no stdout) and reads its
// operations port with an HTTP client: /metrics has the per-stage metrics,
// the App's counters as counters, the Go and process collectors, and native
// histogram buckets when the scraper asks for protobuf; /healthz and
// /readyz answer; the port closes when Run ends.
func TestOperationsPortKafkaOnly(t *testing.T) {
	b, err := broker.Start(t.Context(), broker.Config{Addr: "127.0.0.1:0", Topics: []string{inTopic, outTopic}, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	addr := b.Addr()
	cfg, err := DecodeConfig(fmt.Appendf(nil, `
model: {bundle: %s}
text: {max_len: 24}
sources:
  transcripts:
    kafka: {brokers: [%q], topic: %s, group: cmc-ops}
window: {policy: utterance, max_wait: 200ms}
sinks:
  kafka: {brokers: [%q], topic: %s, batch_timeout: 5ms}
observability: {listen: "127.0.0.1:0"}
%s`, textBundle(t), addr, inTopic, addr, outTopic, testAssetsYAML))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	base := "http://" + app.OpsAddr()
	if app.OpsAddr() == "" {
		t.Fatal("no operations port")
	}
	produce(t, addr, inTopic, seg("call-1", 0, 1.5, "thank you, that was great"), seg("call-1", 2, 3, "no, that is wrong"))
	poll(t, "two events", func() error { return errCount("events", len(events(t, addr)), 2) })

	poll(t, "ready", func() error {
		resp, body, err := httpGet(base+"/readyz", "")
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
			return fmt.Errorf("/readyz %s %q", resp.Status, body)
		}
		return nil
	})
	if resp, body, err := httpGet(base+"/healthz", ""); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %q", err, body)
	}

	var text string
	poll(t, "the events in /metrics", func() error {
		resp, body, err := httpGet(base+"/metrics", "")
		if err != nil {
			return err
		}
		text = string(body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/metrics %s", resp.Status)
		}
		// The kafka sink's items count after its Write returned.
		return containsAll(text, `cmc_stage_items_total{stage="kafka"} 2`+"\n")
	})
	if err := containsAll(text,
		"# TYPE cmc_events_total counter\ncmc_events_total 2\n",
		"# TYPE cmc_stage_items_total counter\n",
		`cmc_stage_items_total{stage="score"} 2`+"\n",
		`cmc_stage_items_total{stage="sources"} 2`+"\n",
		`cmc_stage_errors_total{stage="score"} 0`+"\n",
		`cmc_stage_queue_depth{stage="align"} `,
		`cmc_stage_queue_capacity{stage="align"} 16`+"\n",
		"# TYPE cmc_stage_latency_seconds histogram\n",
		`cmc_stage_latency_seconds_count{stage="score"} 2`+"\n",
		"# TYPE cmc_input_rejected_total counter\n",
		"# TYPE cmc_kafka_consumer_lag gauge\n",
		"# TYPE go_goroutines gauge\n",
		"# TYPE process_resident_memory_bytes gauge\n",
	); err != nil {
		t.Error(err)
	}

	// A scraper that asks for protobuf gets the native buckets as well.
	resp, body, err := httpGet(base+"/metrics", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	if err != nil {
		t.Fatal(err)
	}
	dec := expfmt.NewDecoder(strings.NewReader(string(body)), expfmt.ResponseFormat(resp.Header))
	native := false
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("decode protobuf metrics (%s): %v", resp.Header.Get("Content-Type"), err)
			}
			break
		}
		if f.GetName() != "cmc_stage_latency_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			if m.GetLabel()[0].GetValue() == "score" && len(h.GetPositiveSpan()) > 0 && h.GetSampleCount() == 2 {
				native = true
			}
		}
	}
	if !native {
		t.Error("no native histogram buckets for the score stage in the protobuf exposition")
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := httpGet(base+"/healthz", ""); err == nil {
		t.Error("the operations port still answers after Run returned")
	}
}

// TestOperationsPortConfig: the default address, "disabled", and a bad
// address named by its field.
func TestOperationsPortConfig(t *testing.T) {
	if got := (ObservabilityConfig{}).Addr(); got != "127.0.0.1:9464" {
		t.Errorf("default operations address %q", got)
	}
	if got := (ObservabilityConfig{Listen: "disabled"}).Addr(); got != "" {
		t.Errorf("disabled operations address %q", got)
	}
	_, err := DecodeConfig([]byte("model: {bundle: x}\nsources: {transcripts: {file: x}}\nsinks: {stdout: {}}\nobservability: {listen: nowhere}\n"))
	if err == nil || !strings.Contains(err.Error(), "observability.listen") {
		t.Errorf("bad listen address: %v", err)
	}
}

// node returns the runner's metrics of the node called name, zero if none.
func (a *App) node(name string) pipeline.NodeMetrics {
	for _, n := range a.runner.Metrics() {
		if n.Name == name {
			return n
		}
	}
	return pipeline.NodeMetrics{}
}

// TestDashboardExposed builds the HTTP sink and the operations port on every
// interface, the sink with a token from an environment variable: a warning
// names each exposure (and the sink's token), the feed needs the token, and
// the token is printed nowhere. A token file that does not exist fails
// Build naming the key.
func TestDashboardExposed(t *testing.T) {
	const token = "dGhlLWRhc2hib2FyZC10b2tlbi1vZi10aGUtdGVzdA"
	t.Setenv("CMC_TEST_DASHBOARD_TOKEN", token)
	// A Kafka source, so that the pipeline runs until stopped.
	b, err := broker.Start(t.Context(), broker.Config{Addr: "127.0.0.1:0", Topics: []string{inTopic}, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	yaml := fmt.Sprintf(`
model: {bundle: %s}
text: {max_len: 24}
sources: {transcripts: {kafka: {brokers: [%q], topic: %s}}}
sinks:
  http: {listen: "0.0.0.0:0", token_env: CMC_TEST_DASHBOARD_TOKEN}
observability: {listen: "0.0.0.0:0"}
%s`, textBundle(t), b.Addr(), inTopic, testAssetsYAML)
	cfg, err := DecodeConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var web string
	_, stop, log := startApp(t, cfg, Options{Listening: func(a string) { web = a }})
	_, port, err := net.SplitHostPort(web)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + port + "/metrics"
	if resp, _, err := httpGet(url, ""); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %v %v, want 401", resp, err)
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics with the token: %s", resp.Status)
	}
	_ = stop()
	if err := containsAll(log.String(), "listen beyond loopback", "listen=0.0.0.0:0", "token=true", "the operations port listen beyond loopback"); err != nil {
		t.Error(err)
	}
	if strings.Contains(log.String(), token) {
		t.Error("the token was logged")
	}

	cfg, err = DecodeConfig([]byte(strings.Replace(yaml, "token_env: CMC_TEST_DASHBOARD_TOKEN", "token_file: /nonexistent/token", 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Observability.Listen = ObservabilityDisabled
	if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "sinks.http") || !strings.Contains(err.Error(), "/nonexistent/token") {
		t.Errorf("a missing token file: %v", err)
	}
}
