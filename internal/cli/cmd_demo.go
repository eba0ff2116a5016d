package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/asr"
	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/internal/broker"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

func init() {
	commands["demo"] = command{
		summary: "play the bundled sample clip through the whole pipeline, with an embedded Kafka broker and the dashboard",
		run:     runDemo,
	}
}

// Demo files, relative to the project folder.
const (
	demoBundle     = "demo/model"
	demoVideo      = "demo/media/showcase.mp4"
	demoAudio      = "demo/media/showcase.wav"
	demoTranscript = "demo/showcase_transcript.jsonl"
	demoStream     = "showcase"
	demoTopic      = "demo.transcripts"
	// demoConfig is the demo as a run configuration; the demo takes its
	// alert rules (the insight block) from it.
	demoConfig = "configs/demo.yaml"
)

// demoUtterance is one line of the showcase transcript.
type demoUtterance struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	forDur := fs.Duration("for", 0, "stop after this `duration` (default: when the clip ends)")
	listen := fs.String("listen", "127.0.0.1:8080", "dashboard `address`")
	brokerAddr := fs.String("broker-addr", "127.0.0.1:0", "embedded Kafka broker `address` (loopback; port 0 picks one)")
	asJSON := fs.Bool("json", false, "print events as JSON lines (the default when stdout is not a terminal)")
	noDashboard := fs.Bool("no-dashboard", false, "do not serve the dashboard")
	opsListen := fs.String("ops-listen", app.ObservabilityDisabled, "operations port `address` (/metrics, /healthz, /readyz), or disabled")
	bundle := fs.String("model", "", "model bundle `directory` (default: the bundled "+demoBundle+")")
	useASR := fs.Bool("asr", false, "recognise the clip's speech (PocketSphinx) instead of feeding its bundled transcript, and print both at the end")
	if err := parse(fs, args); err != nil {
		return err
	}
	paths := map[string]string{}
	for name, rel := range map[string]string{"model": demoBundle, "video": demoVideo, "audio": demoAudio, "transcript": demoTranscript, "config": demoConfig} {
		p, ok := envconfig.ProjectFile(rel)
		if !ok && !(name == "model" && *bundle != "") {
			return fmt.Errorf("demo: %s not found: run the demo from the cmc-stream folder (make demo)", rel)
		}
		paths[name] = p
	}
	if *bundle != "" {
		paths["model"] = *bundle
	}
	utts, err := readDemoTranscript(paths["transcript"])
	if err != nil {
		return err
	}
	rules, err := app.LoadConfig(paths["config"])
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Addr: *brokerAddr, Topics: []string{demoTopic}, Partitions: 1})
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	fmt.Fprintf(stderr, "embedded Kafka broker on %s, topic %s\n", b.Addr(), demoTopic)

	format := "text"
	if *asJSON || !isTerminal(stdout) {
		format = "jsonl"
	}
	cfg := &app.Config{
		Model: app.ModelConfig{Bundle: paths["model"], Threads: 2},
		Sources: app.SourcesConfig{
			Video:       []app.VideoSource{{StreamID: demoStream, Device: paths["video"], FPS: 15, Width: 320, Height: 240}},
			Audio:       []app.AudioSource{{StreamID: demoStream, File: paths["audio"]}},
			Transcripts: app.TranscriptSource{Kafka: &app.KafkaInput{Brokers: []string{b.Addr()}, Topic: demoTopic, Group: "cmc-demo"}},
		},
		Window:        app.WindowConfig{Policy: "utterance", MaxWait: time.Second},
		Sinks:         app.SinksConfig{Stdout: &app.StdoutSink{Format: format}},
		Observability: app.ObservabilityConfig{Listen: *opsListen},
		Insight:       rules.Insight,
	}
	if !*noDashboard {
		cfg.Sinks.HTTP = &app.HTTPSink{Listen: *listen, Preview: true}
	}
	heard := &heardLog{}
	var extra []pipeline.Sink[event.Event]
	if *useASR {
		// The recognised segments go to the demo topic, where the bundled
		// transcript would have gone, for other consumers to see.
		cfg.Sources.Transcripts = app.TranscriptSource{}
		cfg.ASR = &app.ASRConfig{Engine: "pocketsphinx", Lang: "en", Kafka: &app.ASRKafka{Brokers: []string{b.Addr()}, Topic: demoTopic}}
		extra = append(extra, heard)
	}
	stopNative, err := startNative(cfg, stderr)
	if err != nil {
		return err
	}
	defer stopNative()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	flow, err := app.Build(cfg, app.Options{Stdout: stdout, Dashboard: dashboard.FS(), Logger: logger, Extra: extra,
		Listening: func(addr string) { fmt.Fprintf(stderr, "dashboard: http://%s/\n", addr) }})
	if err != nil {
		return err
	}
	if a := flow.OpsAddr(); a != "" {
		fmt.Fprintf(stderr, "operations: http://%s/metrics, /healthz, /readyz\n", a)
	}
	m := flow.Model()
	fmt.Fprintf(stderr, "model %s %s; playing %s (%d utterances) in real time\n", m.Config.Name, m.Config.Version, demoVideo, len(utts))

	// The clip ends at its last utterance; the run stops a little after,
	// once the last window had time to be scored, or after --for.
	// With --asr nothing feeds the broker: the run ends with the clip's
	// files, once the last utterance was recognised and scored.
	end := time.Duration(utts[len(utts)-1].End*float64(time.Second)) + 3*time.Second
	if *useASR {
		end = 0
	}
	if *forDur > 0 {
		end = *forDur
	}
	start := time.Now()
	feedErr := make(chan error, 1)
	if *useASR {
		feedErr <- nil
	} else {
		go func() { feedErr <- feedTranscript(ctx, b.Addr(), utts, start) }()
	}
	if end > 0 {
		stop := time.AfterFunc(end, cancel)
		defer stop.Stop()
	}
	runErr := flow.Run(ctx)
	cancel()
	if err := <-feedErr; err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(stderr, "demo: %s\n", flow.Summary())
	if *useASR {
		heard.compare(stderr, utts)
	}
	return runErr
}

// heardLog is an event sink that keeps the recognised transcripts of the
// demo's utterance windows, for the comparison printed at the end.
type heardLog struct {
	mu    sync.Mutex
	texts []string
}

// Write keeps the batch's transcripts.
func (h *heardLog) Write(_ context.Context, batch []event.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range batch {
		h.texts = append(h.texts, e.Transcript)
	}
	return nil
}

// Close does nothing.
func (h *heardLog) Close(context.Context) error { return nil }

// compare prints the bundled transcript next to the recognised one, one
// utterance per pair of lines, and the word error rate over the clip.
func (h *heardLog) compare(w io.Writer, utts []demoUtterance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ref, hyp []string
	fmt.Fprintf(w, "transcripts: %d utterances bundled, %d recognised\n", len(utts), len(h.texts))
	for i := range max(len(utts), len(h.texts)) {
		if i < len(utts) {
			fmt.Fprintf(w, "  bundled    %d: %s\n", i+1, strconv.Quote(utts[i].Text))
			ref = append(ref, asr.Words(utts[i].Text)...)
		}
		if i < len(h.texts) {
			fmt.Fprintf(w, "  recognised %d: %s\n", i+1, strconv.Quote(h.texts[i]))
			hyp = append(hyp, asr.Words(h.texts[i])...)
		}
	}
	if len(ref) > 0 {
		d := asr.EditDistance(ref, hyp)
		fmt.Fprintf(w, "word error rate %.3f (%d edits over %d words)\n", float64(d)/float64(len(ref)), d, len(ref))
	}
}

// readDemoTranscript reads the showcase utterances.
func readDemoTranscript(path string) ([]demoUtterance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var utts []demoUtterance
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var u demoUtterance
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		utts = append(utts, u)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(utts) == 0 {
		return nil, fmt.Errorf("%s: no utterances", path)
	}
	return utts, nil
}

// feedTranscript produces each utterance to the broker as a final
// transcript segment when the playback reaches its end, as a speech
// recogniser would.
func feedTranscript(ctx context.Context, addr string, utts []demoUtterance, start time.Time) error {
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: demoTopic, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	// WriteMessages is synchronous here, so Close has nothing left to flush.
	defer func() { _ = w.Close() }()
	for _, u := range utts {
		at := start.Add(time.Duration(u.End * float64(time.Second)))
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		seg, err := json.Marshal(map[string]any{"stream_id": demoStream, "speaker": "speaker", "start": u.Start, "end": u.End,
			"text": u.Text, "final": true, "lang": "en"})
		if err != nil {
			return err
		}
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(demoStream), Value: seg}); err != nil {
			return fmt.Errorf("demo: producing the transcript: %w", err)
		}
	}
	return nil
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
