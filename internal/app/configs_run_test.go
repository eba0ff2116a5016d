package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cmc-stream/cmc-stream/event"
)

// configRun is how TestRunExampleConfigs runs one file of configs/. adapt
// points the configuration at what this machine has (a test broker, files
// played faster than real time) or returns why the file cannot run here.
// check gets the app while it runs (a live input, which it stops) or after
// its input ended (files), and its standard output then.
type configRun struct {
	adapt func(t *testing.T, cfg *Config) (skip string)
	live  bool
	check func(t *testing.T, cfg *Config, app *App, stop func() error, stdout *syncWriter)
}

// exampleConfigRuns has one row per file of configs/; a new file needs a
// row (TestRunExampleConfigs fails otherwise).
var exampleConfigRuns = map[string]configRun{
	"files.yaml":            {adapt: adaptFiles, check: checkFilesEvents},
	"demo.yaml":             {adapt: adaptDemo, check: checkDemoInsight},
	"kafka-callcentre.yaml": {adapt: adaptCallCentre, live: true, check: checkCallCentreEvents},
	"kafka-secure.yaml": {adapt: func(*testing.T, *Config) string {
		return "runs against a broker with TLS and SCRAM in TestSecuredKafkaEndToEnd"
	}},
	"twilio.yaml": {adapt: func(*testing.T, *Config) string {
		return "takes calls from a WebSocket client: a recorded call is replayed through it in TestTwilioCall"
	}},
	"webcam.yaml": {adapt: func(*testing.T, *Config) string {
		return "runs in TestASRWebcamConfig: a video file for the camera, ALSA's file plugin for the microphone"
	}},
}

// TestRunExampleConfigs runs every file of configs/ that can run here, from
// the repository's root as the README's commands do, and checks its events.
func TestRunExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("configs: %v %v", files, err)
	}
	t.Chdir("../..")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			row, ok := exampleConfigRuns[name]
			if !ok {
				t.Fatalf("configs/%s has no row in exampleConfigRuns: say how it runs here and what events it gives", name)
			}
			cfg, err := LoadConfig(filepath.Join("configs", name))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Assets.Dir = testNative.AssetsDir // as the command resolves it
			// Never the default operations port, which parallel tests share.
			cfg.Observability.Listen = "127.0.0.1:0"
			if skip := row.adapt(t, cfg); skip != "" {
				t.Skip(skip)
			}
			stdout := &syncWriter{w: &bytes.Buffer{}}
			if row.live {
				app, stop, _ := startApp(t, cfg, Options{Stdout: stdout})
				row.check(t, cfg, app, stop, stdout)
				return
			}
			app := runToEnd(t, cfg, stdout)
			row.check(t, cfg, app, nil, stdout)
		})
	}
}

// runToEnd builds and runs cfg, whose inputs are files, until its input
// ends, writing its standard output to stdout.
func runToEnd(t *testing.T, cfg *Config, stdout *syncWriter) *App {
	t.Helper()
	app, err := Build(cfg, Options{Stdout: stdout, Logger: testLogger(t.Output())})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Run(t.Context()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := app.Summary().Err(); err != nil {
		t.Error(err)
	}
	return app
}

// adaptFiles runs configs/files.yaml as it is (its media play as fast as
// they decode, as the file says), with the operations port on a free port
// (the default one may be taken by another process on the machine).
func adaptFiles(_ *testing.T, cfg *Config) string {
	cfg.Observability.Listen = "127.0.0.1:0"
	return ""
}

// checkShowcaseEvents checks configs/files.yaml's JSON lines: one event per
// utterance of the showcase, in order, with the utterance's text (from
// demo/showcase_transcript.jsonl, the clip-level transcript extract reads)
// and text, audio and vision present, and no input rejected.
func checkShowcaseEvents(t *testing.T, _ *Config, app *App, _ func() error, stdout *syncWriter) {
	t.Helper()
	var want []string
	f, err := os.Open("demo/showcase_transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var u struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.Text)
	}
	var got []string
	for sc := bufio.NewScanner(bytes.NewReader([]byte(stdout.String()))); sc.Scan(); {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		if e.Schema != event.Schema {
			continue // the call's summary, its alerts
		}
		if m := e.Modalities; e.StreamID != "showcase" || !m.Text.Present || !m.Audio.Present || !m.Vision.Present {
			t.Errorf("event %s of stream %q: text %v, audio %v, vision %v; want the showcase's, with all three",
				e.EventID, e.StreamID, m.Text.Present, m.Audio.Present, m.Vision.Present)
		}
		got = append(got, e.Transcript)
	}
	if !slices.Equal(got, want) {
		t.Errorf("events' transcripts:\n got %q\nwant %q", got, want)
	}
	if s := app.Summary(); s.Rejected != 0 || s.Failed != 0 {
		t.Errorf("summary %v, want nothing rejected or failed", s)
	}
}

// checkFilesEvents checks configs/files.yaml's events as checkShowcaseEvents
// does, and that nothing was dropped: its media are files read as fast as
// they decode, which are never dropped (README "Drop policy"), and media
// between utterances is unused, not late, however far the files race ahead.
func checkFilesEvents(t *testing.T, cfg *Config, app *App, stop func() error, stdout *syncWriter) {
	t.Helper()
	checkShowcaseEvents(t, cfg, app, stop, stdout)
	if s := app.Summary(); s.Dropped != 0 {
		t.Errorf("summary %v, want no drops", s)
	}
}

// The topics of configs/kafka-callcentre.yaml.
const (
	callTranscripts = "calls.transcripts"
	callEvents      = "calls.sentiment"
	callDead        = "calls.dead-letter"
)

// adaptCallCentre points configs/kafka-callcentre.yaml at an in-process
// broker holding a call of a customer and an agent, and its HTTP sink at a
// free port.
func adaptCallCentre(t *testing.T, cfg *Config) string {
	k, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(2, callTranscripts, callEvents, callDead),
		kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	addr := k.ListenAddrs()[0]
	if cfg.Sources.Transcripts.Kafka.Topic != callTranscripts || cfg.Sinks.Kafka.Topic != callEvents || cfg.Sinks.DeadLetter.Topic != callDead {
		t.Fatalf("configs/kafka-callcentre.yaml's topics changed: update the test's")
	}
	cfg.Sources.Transcripts.Kafka.Brokers = []string{addr}
	cfg.Sinks.Kafka.Brokers = []string{addr}
	cfg.Sinks.DeadLetter.Brokers = []string{addr}
	cfg.Sinks.HTTP.Listen = "127.0.0.1:0"
	produce(t, addr, callTranscripts,
		record{"call-1", `{"stream_id":"call-1","speaker":"agent","start":0,"end":1.5,"text":"how can I help","final":true}`},
		record{"call-1", `{"stream_id":"call-1","speaker":"customer","start":2,"end":4,"text":"my order never arrived","final":true}`},
		record{"call-2", `{"stream_id":"call-2","speaker":"customer","start":1,"end":2.5,"text":"thanks, that was quick","final":true}`})
	return ""
}

// checkCallCentreEvents waits for the customers' events on the events
// topic: privacy.roles [customer] scores the customers' two utterances, not
// the agent's.
func checkCallCentreEvents(t *testing.T, cfg *Config, app *App, stop func() error, _ *syncWriter) {
	t.Helper()
	addr := cfg.Sinks.Kafka.Brokers[0]
	poll(t, "the customers' events", func() error { return errCount("events", distinct(events(t, addr)), 2) })
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	var got []string
	for _, e := range events(t, addr) {
		got = append(got, e.EventID+" "+e.Speaker+" "+e.Transcript)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	want := []string{"call-1/utt/2000 customer my order never arrived", "call-2/utt/1000 customer thanks, that was quick"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if s := app.Summary(); s.Windows != 2 || s.Filtered != 0 || s.Rejected != 0 || s.Failed != 0 {
		// privacy.roles: the agent's segment lost its text at the source,
		// and its window, with nothing in it, never formed.
		t.Errorf("summary %v, want the customers' 2 windows only, nothing rejected or failed", s)
	}
	if d := readTopic(t, addr, callDead); len(d) != 0 {
		t.Errorf("%d dead letters, want none: %s", len(d), d[0].Value)
	}
}

// adaptDemo plays configs/demo.yaml's media in real time, as the file
// says (29 s: its windows wait for their media, the transcript file being
// read at once), prints JSON lines instead of text and serves the
// dashboard on a free port.
func adaptDemo(t *testing.T, cfg *Config) string {
	cfg.Sinks.Stdout.Format = "jsonl"
	cfg.Sinks.HTTP.Listen = "127.0.0.1:0"
	return adaptFiles(t, cfg)
}

// checkDemoInsight checks configs/demo.yaml's events as files.yaml's, and
// its insight: the rule modalities-disagree fires on the conflicting
// utterances (the showcase has some: the demo model's card), each alert
// naming a window with a conflict, and the call ends with one summary of
// every window.
func checkDemoInsight(t *testing.T, cfg *Config, app *App, stop func() error, stdout *syncWriter) {
	t.Helper()
	checkShowcaseEvents(t, cfg, app, stop, stdout)
	conflicts := map[string]bool{}
	var alerts []event.Alert
	var sums []event.CallSummary
	events := 0
	for sc := bufio.NewScanner(bytes.NewReader([]byte(stdout.String()))); sc.Scan(); {
		var head struct{ Schema string }
		json.Unmarshal(sc.Bytes(), &head)
		switch head.Schema {
		case event.Schema:
			var e event.Event
			json.Unmarshal(sc.Bytes(), &e)
			events++
			if e.Consensus.Conflict {
				conflicts[e.EventID] = true
			}
		case event.AlertSchema:
			var a event.Alert
			json.Unmarshal(sc.Bytes(), &a)
			alerts = append(alerts, a)
		case event.CallSummarySchema:
			var s event.CallSummary
			json.Unmarshal(sc.Bytes(), &s)
			sums = append(sums, s)
		}
	}
	fired := 0
	for _, a := range alerts {
		if a.Rule == "modalities-disagree" {
			fired++
			if !conflicts[a.EventIDs[0]] {
				t.Errorf("alert %+v names no window with a conflict", a)
			}
		}
	}
	if len(conflicts) == 0 || fired == 0 {
		t.Errorf("%d conflicting windows, modalities-disagree fired %d times; alerts %+v", len(conflicts), fired, alerts)
	}
	if len(sums) != 1 || sums[0].Windows != events || sums[0].Reason != event.EndOfInput {
		t.Errorf("summaries %+v, want one of the %d windows", sums, events)
	}
}
