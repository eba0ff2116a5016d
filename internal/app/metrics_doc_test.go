package app

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// readmeMetrics returns the metric names of the table of README.md's
// Operations section, and the whole README.
func readmeMetrics(t *testing.T) (names []string, readme string) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme = string(raw)
	_, table, ok := strings.Cut(readme, "| metric | type | what |\n")
	if !ok {
		t.Fatal("README.md has no metrics table (| metric | type | what |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	name := regexp.MustCompile("`(cmc_[a-z_]+)[`{]")
	for _, row := range strings.Split(table, "\n") {
		cell, _, _ := strings.Cut(strings.TrimPrefix(row, "| "), " |")
		for _, m := range name.FindAllStringSubmatch(cell, -1) {
			names = append(names, m[1])
		}
	}
	return names, readme
}

// TestMetricsDocumented builds two real pipelines that between them have
// every kind of part (configs/demo.yaml: video and audio files, a
// transcript file, the dashboard with the camera preview, alert rules; and
// a Kafka transcript source with the WebSocket source and Kafka sinks),
// runs each briefly, and checks the README's metrics table against their
// registries: each name of the table is taken on one of them (registering
// it again is refused), and every cmc_ metric they expose is named in the
// README.
func TestMetricsDocumented(t *testing.T) {
	names, readme := readmeMetrics(t)
	if len(names) < 25 {
		t.Fatalf("%d metric names in the README's table, want at least 25: did its layout change? %v", len(names), names)
	}
	t.Chdir("../..")
	demo, err := LoadConfig("configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if skip := adaptDemo(t, demo); skip != "" {
		t.Fatal(skip)
	}
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	kafkaWS, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	kafkaWS.Sources.WebSocket = &WebSocketSource{Listen: "127.0.0.1:0", Protocol: "cmc"}
	if err := kafkaWS.Validate(); err != nil {
		t.Fatal(err)
	}
	var regs []*prometheus.Registry
	for _, cfg := range []*Config{demo, kafkaWS} {
		app, stop, _ := startApp(t, cfg, Options{})
		if err := stop(); err != nil {
			t.Logf("run: %v", err) // the registry is what this test reads
		}
		regs = append(regs, app.metrics)
	}

	for _, n := range names {
		taken := false
		for _, reg := range regs {
			probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: n, Help: "Registered by TestMetricsDocumented."})
			err := reg.Register(probe)
			if err == nil {
				reg.Unregister(probe)
				continue
			}
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) && !strings.Contains(err.Error(), "previously registered descriptor with the same fully-qualified name") {
				t.Fatalf("registering %s: %v", n, err)
			}
			taken = true
		}
		if !taken {
			t.Errorf("the README's metrics table names %s, which neither pipeline registers", n)
		}
	}
	for i, reg := range regs {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if n := f.GetName(); strings.HasPrefix(n, "cmc_") && !strings.Contains(readme, "`"+n) {
				t.Errorf("pipeline %d exposes %s, which the README does not name", i, n)
			}
		}
	}
}
