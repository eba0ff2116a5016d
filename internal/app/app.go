package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/bert"
	"github.com/cmc-stream/cmc-stream/features/recipe"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/features/vision"
	ingestaudio "github.com/cmc-stream/cmc-stream/ingest/audio"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/ingest/transcript"
	"github.com/cmc-stream/cmc-stream/ingest/websocket"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/internal/httpguard"
	"github.com/cmc-stream/cmc-stream/internal/insight"
	"github.com/cmc-stream/cmc-stream/internal/ops"
	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/preview"
)

// Options are the parts of an App that do not come from the YAML file.
type Options struct {
	// Stdout receives the stdout sink's output. Default: discarded.
	Stdout io.Writer
	// Dashboard is served at / by the HTTP sink. Default: none.
	Dashboard fs.FS
	// Logger receives the errors the pipeline reports. Default: discarded.
	Logger *slog.Logger
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
	// Extra are more event sinks (used by the demo's summary and tests).
	Extra []pipeline.Sink[event.Event]
	// Listening is called with the HTTP sink's address once it listens.
	Listening func(addr string)
	// CPU, when set, adds up the CPU time of the video capture, vision,
	// scoring (text, audio, model) and sinks per stage (bench pipeline's
	// cost split). Default: not measured.
	CPU *cputime.Meter
}

// App is a built pipeline: sources, aligner, scorer and sinks.
type App struct {
	runner  *pipeline.Runner
	aligner *align.Aligner
	stats   *Stats
	videos  []*videoInput
	// preview publishes the video frames to the dashboard; nil unless
	// sinks.http.preview.
	preview *preview.Hub
	mics    []*micInput
	asr     *asrSet // speech recognition; nil without asr
	// closeText releases the text encoder (a BERT model's session).
	closeText func() error
	model     *model.Model
	// websocket is the WebSocket source, or nil.
	websocket *websocket.Source
	// insight publishes the summaries and alerts.
	insight *insight.Tracker
	// lag reports the Kafka input's consumer lag; nil without Kafka input.
	lag func() int64
	// metrics is the registry of every metric of the App, served on the
	// operations port (and at the HTTP sink's /metrics for the dashboard).
	metrics *prometheus.Registry
	// ops serves the operations port; nil when it is disabled.
	ops *ops.Server
	// phase is where Run is: phaseBuilt, phaseRunning, phaseStopping or
	// phaseStopped; /readyz is ready only while running.
	phase atomic.Int32
}

// The phases of an App, for readiness.
const (
	phaseBuilt int32 = iota
	phaseRunning
	phaseStopping
	phaseStopped
)

// opsCloseTimeout bounds the shutdown of the operations port after Run.
const opsCloseTimeout = 5 * time.Second

// Stats counts what an App did; safe for concurrent use.
type Stats struct {
	// Events counts events handed to the sinks.
	Events atomic.Int64
	// Filtered counts windows of speakers the privacy roles exclude,
	// dropped before scoring: those that held media (the text of such a
	// speaker stops at the sources, so a window with nothing else never
	// forms).
	Filtered atomic.Int64
	// Failed counts items that failed in a stage or sink.
	Failed atomic.Int64
	// Rejected counts input messages rejected before the aligner:
	// malformed transcript messages and segments that start before their
	// stream.
	Rejected  atomic.Int64
	mu        sync.Mutex
	latencies []float64 // the last latencyWindow end-to-end latencies in ms, a ring
	next      int       // where the ring writes next once full
}

// Summary is what a run did, for the closing line of demo and run.
type Summary struct {
	Windows, Events, Filtered, Failed int64
	// Rejected counts malformed input messages (dead-lettered when a
	// dead-letter topic is configured).
	Rejected int64
	// Accepted counts the input items (media and transcript segments) the
	// aligner took.
	Accepted int64
	// Dropped counts media dropped by live sources (capture overload,
	// decode errors) and by the aligner (late items, buffer overflow, and
	// media an idle stream still held unused when it expired).
	Dropped int64
	// LatencyP50 and LatencyP99 are end-to-end latencies in ms over the
	// last 10,000 events.
	LatencyP50, LatencyP99 float64
}

// ErrRejectedOnly is wrapped by Summary.Err when a run gave no event and
// rejected input.
var ErrRejectedOnly = errors.New("no event, and input was rejected")

// Err returns an error wrapping ErrRejectedOnly when input items were
// rejected and no event came out (a transcript file whose every line is
// refused, a topic of malformed messages): a run that did nothing, which
// must not look like a success. It returns nil otherwise.
func (s Summary) Err() error {
	if s.Rejected > 0 && s.Events == 0 {
		return fmt.Errorf("app: %w: %d input items rejected, %d accepted (the log names each reason)", ErrRejectedOnly, s.Rejected, s.Accepted)
	}
	return nil
}

// String formats the summary as one line. Latencies that are all 0 (every
// window ended ahead of the wall clock: media replayed faster than real
// time) are shown as not applicable rather than as a measurement.
func (s Summary) String() string {
	latency := fmt.Sprintf("end-to-end latency p50 %.1f ms, p99 %.1f ms", s.LatencyP50, s.LatencyP99)
	if s.Events > 0 && s.LatencyP99 == 0 {
		latency = "end-to-end latency n/a (media replayed faster than real time)"
	}
	return fmt.Sprintf("windows %d, events %d, filtered %d, failed %d, rejected %d, drops %d, %s",
		s.Windows, s.Events, s.Filtered, s.Failed, s.Rejected, s.Dropped, latency)
}

// Build loads the model and wires the pipeline of cfg. Nothing runs until
// Run.
func Build(cfg *Config, opts Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Assets.Dir == "" {
		return nil, errors.New("app: assets.dir is empty: the command sets it (internal/envconfig)")
	}
	m, err := model.Load(cfg.Model.Bundle)
	if err != nil {
		return nil, err
	}
	clock := NewStreamClock(opts.Now, 2*cfg.Window.idleTimeout())
	enc, TextSpec, closeText, err := newTextEncoder(cfg.Assets.Dir, cfg.Text, m.Config.Lengths.Text, cfg.Model.threads())
	if err != nil {
		return nil, err
	}
	spec := recipe.Default(TextSpec)
	// A window's audio features are computed after it closed, so their
	// time adds to the event's latency: two goroutines on an idle core, and
	// a window end moved back by at most 11.6 ms to a length the CQT's
	// octave halving transforms quickly (see audio.Config.FastLength).
	audioCfg := audio.Config{Threads: min(2, runtime.NumCPU()), FastLength: true}
	scorer, err := NewScorer(ScorerConfig{Model: m, Text: enc, Audio: audioCfg, Spec: spec, Now: opts.Now, Threads: cfg.Model.threads(),
		PartyIDs: len(cfg.scoredParties()) > 1, CPU: opts.CPU})
	if err != nil {
		return nil, errors.Join(err, closeText())
	}
	app := &App{stats: &Stats{}, model: m, metrics: prometheus.NewRegistry(), closeText: closeText}
	built := false
	defer func() {
		if !built {
			app.closeVideos()
			app.asr.close()
			app.closePreview()
			_ = closeText() // the build error is the one to report
		}
	}()
	metrics := app.metrics
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var ready readiness
	var dl *deadLetter
	pcfg := pipeline.Config{
		ShutdownTimeout: cfg.Pipeline.ShutdownTimeout,
		OnError: func(err error) {
			var ie *pipeline.ItemError
			if errors.As(err, &ie) && lateMedia(ie) {
				// A drop the aligner counted (Summary.Dropped), not a failure.
				opts.Logger.Debug("late media dropped", "node", ie.Node, "err", ie.Err)
				return
			}
			if errors.As(err, &ie) {
				app.stats.Failed.Add(1)
				stream, _ := describe(ie.Item)
				opts.Logger.Warn("item failed", "node", ie.Node, "stream", stream, "err", ie.Err)
				return
			}
			opts.Logger.Warn("pipeline", "err", err)
		},
		Now: opts.Now,
	}
	if d := cfg.Sinks.DeadLetter; d != nil {
		if dl, err = newDeadLetter(d, cfg.Privacy.Roles, opts.Logger, now); err != nil {
			return nil, err
		}
		pcfg.DeadLetter = dl
		ready.endpoints = append(ready.endpoints, kafkaEndpoint{role: "dead letter", brokers: d.Brokers, topic: d.Topic, sec: d.Security})
	}
	r, err := pipeline.New(pcfg)
	if err != nil {
		return nil, err
	}
	app.runner = r

	// Sources.
	var inputs, videos []pipeline.Source[align.Input]
	visionSources := cfg.Sources.Video
	if len(visionSources) > 0 && !cfg.videoScored() {
		opts.Logger.Warn("video sources not opened: every role privacy.roles scores has audio of its own (a channel or a track), and the windows of such a party take no video",
			"roles", cfg.Privacy.Roles)
		visionSources = nil
	}
	for _, v := range visionSources {
		ex, err := vision.New(vision.DefaultConfig(cfg.Assets.Dir))
		if err != nil {
			return nil, fmt.Errorf("app: video source %q: %w", v.StreamID, err)
		}
		vi := &videoInput{stream: v.StreamID, clock: clock, ex: ex, cfg: v.videoConfig()}
		vi.cfg.CPU = opts.CPU
		app.videos = append(app.videos, vi)
		videos = append(videos, vi)
	}
	app.asr = newASRSet(cfg.ASR, cfg.Assets.Dir, clock, opts.Logger)
	for _, a := range cfg.Sources.Audio {
		var src pipeline.Source[align.Input]
		if a.File != "" {
			src = newAudioFileInput(a, cfg.Privacy, clock)
		} else {
			dev := a.Device
			if dev == "default" {
				dev = ""
			}
			mi := &micInput{stream: a.StreamID, clock: clock, cfg: ingestaudio.Config{Device: dev, SampleRate: float64(a.sampleRate())}}
			app.mics = append(app.mics, mi)
			src = mi
		}
		if src, err = app.asr.tap(a.StreamID, src); err != nil {
			return nil, err
		}
		inputs = append(inputs, src)
	}
	parties := cfg.parties()
	if tr := cfg.Sources.Transcripts; tr.File != "" {
		f, err := transcript.NewFile(transcript.FileConfig{Path: tr.File})
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, &transcriptInput{src: segmentFeed{f}, clock: clock, reject: app.rejectItem(dl, opts.Logger), parties: parties,
			privacy: cfg.Privacy})
	} else if k := tr.Kafka; k != nil {
		src, err := kafka.NewDecoding(kafka.Config{Brokers: k.Brokers, Topic: k.Topic, GroupID: k.group(),
			SessionTimeout: k.SessionTimeout, HeartbeatInterval: k.HeartbeatInterval, RebalanceTimeout: k.RebalanceTimeout,
			Security: k.Security, MaxUnacked: k.MaxUnacked, MaxDecompressedBytes: k.MaxDecompressedBytes,
			Reject: app.rejectMessage(dl, opts.Logger)}, decodeFeed(0))
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, &transcriptInput{src: src, clock: clock, reject: app.rejectItem(dl, opts.Logger),
			rate: k.SampleRate, channels: k.Channels.scored(cfg.Privacy), parties: parties, privacy: cfg.Privacy,
			ended: func(id string) { app.insight.EndStream(id) }})
		app.lag = src.Lag
		ready.stalled = src.Stalled
		ready.endpoints = append(ready.endpoints, kafkaEndpoint{role: "transcripts", brokers: k.Brokers, topic: k.Topic, sec: k.Security})
	}
	if ws := cfg.Sources.WebSocket; ws != nil {
		src, err := newWebSocketSource(ws, opts.Logger)
		if err != nil {
			return nil, err
		}
		app.websocket = src
		inputs = append(inputs, &transcriptInput{src: websocketFeed{src}, clock: clock, reject: app.rejectItem(dl, opts.Logger),
			channels: ws.Channels.scored(cfg.Privacy), parties: parties, privacy: cfg.Privacy, ended: func(id string) { app.insight.EndStream(id) }})
	}
	// Aligner.
	w := cfg.Window
	acfg := align.Config{Policy: align.Policy(w.Policy), Size: w.Size, Hop: w.Hop, AllowedLateness: w.AllowedLateness,
		MaxWait: w.MaxWait, MaxBuffered: w.MaxBuffered, IdleTimeout: w.IdleTimeout, Numbering: cfg.numbering(), Now: opts.Now,
		OnDrop: (&dropLog{log: opts.Logger, now: opts.Now}).drop}
	for range visionSources {
		acfg.Expect = acfg.Expect.With(align.Vision)
	}
	for range cfg.Sources.Audio {
		acfg.Expect = acfg.Expect.With(align.Audio)
	}
	app.aligner, err = align.New(acfg)
	if err != nil {
		return nil, fmt.Errorf("app: window: %w", err)
	}

	if app.preview, err = newPreview(cfg.Sinks.HTTP, metrics); err != nil {
		return nil, err
	}
	queue := cfg.Pipeline.queue()
	var ins []*pipeline.Stream[align.Input]
	if len(videos) > 0 {
		// Unbuffered: while the vision workers are busy, frames wait in
		// their capture's drop-oldest queue, not in the pipeline.
		frames := pipeline.From(r, "video", pipeline.SourceConfig{}, videos...)
		ins = append(ins, pipeline.Via(frames, "vision", pipeline.StageConfig{Workers: cfg.Pipeline.visionWorkers(), Buffer: queue},
			pipeline.Stage[align.Input, align.Input](visionStage{preview: app.preview, needs: app.framesNeeded(cfg.Privacy), cpu: opts.CPU})))
	}
	if len(inputs) > 0 {
		ins = append(ins, pipeline.From(r, "sources", pipeline.SourceConfig{Buffer: queue}, inputs...))
	}
	in := ins[0]
	if len(ins) > 1 {
		in = pipeline.Merge("inputs", pipeline.SourceConfig{}, ins...)
	}
	windows := pipeline.ViaRetainer(in, "align", pipeline.StageConfig{Buffer: queue}, align.NewStage(app.aligner))
	score := pipeline.StageFunc[align.Window, event.Event](func(ctx context.Context, w align.Window) ([]event.Event, error) {
		speaker := w.Speaker
		if _, role, channel := splitChannel(w.StreamID); channel {
			// A party's channel of a stereo call: its windows are that
			// party's (the scorer makes them the call's).
			speaker = role
		}
		if cfg.Privacy.excludes(speaker) {
			app.stats.Filtered.Add(1)
			return nil, nil
		}
		evs, err := scorer.Process(ctx, w)
		for i := range evs {
			app.asr.mark(&evs[i])
			// A window whose features or weights hold NaN or Inf gives
			// probabilities no sink can encode: it fails alone, here.
			if verr := evs[i].Validate(); verr != nil {
				return nil, fmt.Errorf("app: window %s/%d: %w", evs[i].StreamID, w.Seq, verr)
			}
		}
		return evs, err
	})
	events := pipeline.Via(windows, "score", pipeline.StageConfig{Workers: cfg.Pipeline.workers(), Buffer: queue}, pipeline.Stage[align.Window, event.Event](score))

	// Sinks. The insight tracker comes first: the runner closes the sinks in
	// order, and the tracker publishes the last summaries through the
	// stdout and HTTP sinks when it closes.
	pipeline.To(events, "stats", pipeline.SinkConfig{}, metered(app.stats, opts.CPU))
	type sinkNode struct {
		name string
		cfg  pipeline.SinkConfig
		out  pipeline.Sink[event.Event]
	}
	var nodes []sinkNode
	var publishers []insight.Publisher
	if s := cfg.Sinks.Stdout; s != nil {
		format := sink.JSONL
		if s.Format == "text" {
			format = sink.Text
		}
		out, err := sink.NewStdout(opts.Stdout, format)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, sinkNode{"stdout", pipeline.SinkConfig{BatchSize: 1}, out})
		publishers = append(publishers, out)
	}
	if k := cfg.Sinks.Kafka; k != nil {
		out, err := sink.NewKafka(sink.KafkaConfig{Brokers: k.Brokers, Topic: k.Topic, BatchTimeout: k.BatchTimeout, BatchSize: k.BatchSize,
			Security: k.Security})
		if err != nil {
			return nil, err
		}
		ready.endpoints = append(ready.endpoints, kafkaEndpoint{role: "events", brokers: k.Brokers, topic: k.Topic, sec: k.Security})
		retry := &sink.Retry{Sink: out, Timeout: k.RetryTimeout, Logger: opts.Logger, Name: "kafka"}
		nodes = append(nodes, sinkNode{"kafka", pipeline.SinkConfig{}, retry})
	}
	var web *sink.HTTP
	if h := cfg.Sinks.HTTP; h != nil {
		addr := h.listen()
		token, err := httpguard.ReadToken(h.TokenFile, h.TokenEnv)
		if err != nil {
			return nil, fmt.Errorf("app: sinks.http: %w", err)
		}
		web, err = sink.NewHTTP(sink.HTTPConfig{Addr: addr, Static: opts.Dashboard, Metrics: metrics, AllowedHosts: h.AllowedHosts,
			Token: token, MaxClients: h.MaxClients, MaxClientsPerAddr: h.MaxClientsPerAddr, ClientBuffer: h.ClientBuffer,
			Preview: app.previewHandler()})
		if err != nil {
			return nil, err
		}
		warnExposed(opts.Logger, "the dashboard and /events", addr, "token", token != "")
		if opts.Listening != nil {
			opts.Listening(web.Addr())
		}
		nodes = append(nodes, sinkNode{"http", pipeline.SinkConfig{}, web})
		publishers = append(publishers, web)
	}
	tracker, err := newInsight(cfg, publishers, dl, opts.Logger)
	if err != nil {
		return nil, err
	}
	app.insight = tracker.Tracker
	pipeline.To(events, "insight", pipeline.SinkConfig{}, metered(tracker, opts.CPU))
	for _, n := range nodes {
		pipeline.To(events, n.name, n.cfg, metered(n.out, opts.CPU))
	}
	for i, s := range opts.Extra {
		pipeline.To(events, fmt.Sprintf("extra-%d", i), pipeline.SinkConfig{}, metered(s, opts.CPU))
	}
	app.registerMetrics(metrics)
	if addr := cfg.Observability.Addr(); addr != "" {
		app.ops, err = ops.Listen(ops.Config{Addr: addr, Gatherer: metrics, Checks: app.readyChecks(ready),
			AllowedHosts: cfg.Observability.AllowedHosts, Metrics: metrics})
		if err != nil {
			if web != nil {
				err = errors.Join(err, web.Close(context.Background()))
			}
			return nil, fmt.Errorf("app: observability.listen: %w", err)
		}
		warnExposed(opts.Logger, "the operations port", addr)
	}
	built = true
	return app, nil
}

// warnExposed logs a warning, with the attributes attrs, when addr binds
// beyond loopback.
func warnExposed(log *slog.Logger, what, addr string, attrs ...any) {
	if httpguard.Exposed(addr) {
		log.Warn(what+" listen beyond loopback: whoever reaches this address can read them", append([]any{"listen", addr}, attrs...)...)
	}
}

// OpsAddr returns the address of the operations port, such as
// "127.0.0.1:9464", or "" when it is disabled.
func (a *App) OpsAddr() string {
	if a.ops == nil {
		return ""
	}
	return a.ops.Addr()
}

// closeVideos releases the vision extractors of a pipeline that failed to
// build.
func (a *App) closeVideos() {
	for _, v := range a.videos {
		_ = v.ex.Close() // releases native handles; nothing to report at shutdown
	}
}

// Run runs the pipeline until its sources end or ctx is cancelled (then
// it shuts down in two phases: drain, then stop). A shutdown that hit its
// deadline returns an error wrapping pipeline.ErrShutdownTimeout.
// The operations port serves until Run returns; /readyz says not ready once
// ctx is cancelled.
func (a *App) Run(ctx context.Context) error {
	a.phase.Store(phaseRunning)
	stopping := context.AfterFunc(ctx, func() { a.phase.Store(phaseStopping) })
	defer stopping()
	err := a.runner.Run(ctx)
	a.phase.Store(phaseStopped)
	a.closePreview()
	err = errors.Join(err, a.closeText())
	if a.ops != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opsCloseTimeout)
		err = errors.Join(err, a.ops.Close(cctx))
		cancel()
	}
	if errors.Is(err, context.Canceled) && !errors.Is(err, pipeline.ErrShutdownTimeout) {
		return nil
	}
	return err
}

// WebSocketAddr returns the address the WebSocket source listens on, once
// Run started it; "" without one.
func (a *App) WebSocketAddr() string {
	if a.websocket == nil {
		return ""
	}
	return a.websocket.Addr()
}

// Model returns the loaded model.
func (a *App) Model() *model.Model { return a.model }

// Summary returns what the run did so far.
func (a *App) Summary() Summary {
	st := a.aligner.Stats()
	s := Summary{Windows: int64(st.Windows), Events: a.stats.Events.Load(), Filtered: a.stats.Filtered.Load(),
		Failed: a.stats.Failed.Load(), Rejected: a.stats.Rejected.Load(), Accepted: int64(st.Media + st.Segments),
		Dropped: int64(st.Late + st.Overflow + st.Discarded)}
	for _, v := range a.videos {
		s.Dropped += v.dropped()
	}
	for _, m := range a.mics {
		s.Dropped += m.dropped()
	}
	s.LatencyP50, s.LatencyP99 = a.stats.percentiles()
	return s
}

// registerMetrics registers the App's metrics on reg: the pipeline's
// per-stage metrics (pipeline.Runner.Collect) and the App's and the
// aligner's counters and gauges, read at scrape time.
func (a *App) registerMetrics(reg prometheus.Registerer) {
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter("cmc_events_total", "Events handed to the sinks.", func() float64 { return float64(a.stats.Events.Load()) })
	counter("cmc_windows_filtered_total", "Windows of speakers excluded by the privacy roles, not scored (those that held media).", func() float64 { return float64(a.stats.Filtered.Load()) })
	counter("cmc_items_failed_total", "Items that failed in a stage or a sink.", func() float64 { return float64(a.stats.Failed.Load()) })
	counter("cmc_input_rejected_total", "Malformed input messages rejected before the aligner.", func() float64 { return float64(a.stats.Rejected.Load()) })
	counter("cmc_drops_total", "Media dropped by live sources and the aligner (late, overflow).", func() float64 { return float64(a.Summary().Dropped) })
	counter("cmc_video_lost_total", "Times a camera or video URL stopped delivering frames (each is opened again).", func() float64 {
		var n int64
		for _, v := range a.videos {
			n += v.lost.Load()
		}
		return float64(n)
	})
	counter("cmc_frames_skipped_total", "Video frames not run through vision: no window to be scored could take them (privacy.roles).", func() float64 {
		var n int64
		for _, v := range a.videos {
			n += v.skipped.Load()
		}
		return float64(n)
	})
	counter("cmc_aligner_late_total", "Items that arrived behind their watermark.", func() float64 { return float64(a.aligner.Stats().Late) })
	gauge("cmc_aligner_streams", "Streams the aligner holds.", func() float64 { return float64(a.aligner.Stats().Streams) })
	gauge("cmc_aligner_buffered", "Media items the aligner buffers.", func() float64 { return float64(a.aligner.Stats().Buffered) })
	if in := a.insight; in != nil {
		counter("cmc_insight_alerts_total", "Alerts fired by the insight rules.", func() float64 { return float64(in.Alerts()) })
		counter("cmc_insight_summaries_total", "Per-call summaries made.", func() float64 { return float64(in.Summaries()) })
		counter("cmc_insight_publish_failed_total", "Times a sink failed to take summaries or alerts (logged).", func() float64 { return float64(in.Failed()) })
	}
	if ws := a.websocket; ws != nil {
		gauge("cmc_websocket_connections_open", "WebSocket connections being served.", func() float64 { return float64(ws.Stats().Open) })
		counter("cmc_websocket_connections_total", "WebSocket connections accepted.", func() float64 { return float64(ws.Stats().Connections) })
		for _, reason := range websocket.Reasons {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cmc_websocket_rejected_total",
				Help:        "WebSocket connections refused or closed for a bad frame, by reason.",
				ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(ws.Stats().Rejected[reason]) }))
		}
	}
	if a.lag != nil {
		gauge("cmc_kafka_consumer_lag", "Messages of the assigned partitions not fetched yet.", func() float64 { return float64(a.lag()) })
	}
	reg.MustRegister(a.runner)
}

// Write counts events and records their end-to-end latency.
func (s *Stats) Write(_ context.Context, batch []event.Event) error {
	s.Events.Add(int64(len(batch)))
	s.mu.Lock()
	for _, e := range batch {
		if len(s.latencies) < latencyWindow {
			s.latencies = append(s.latencies, e.LatencyMS.EndToEnd)
			continue
		}
		s.latencies[s.next] = e.LatencyMS.EndToEnd
		s.next = (s.next + 1) % latencyWindow
	}
	s.mu.Unlock()
	return nil
}

// latencyWindow is how many of the latest events the latency percentiles
// cover, so that a long run keeps a bounded record.
const latencyWindow = 10000

// Close does nothing.
func (s *Stats) Close(context.Context) error { return nil }

func (s *Stats) percentiles() (p50, p99 float64) {
	s.mu.Lock()
	l := slices.Clone(s.latencies)
	s.mu.Unlock()
	if len(l) == 0 {
		return 0, 0
	}
	sort.Float64s(l)
	at := func(q float64) float64 { return l[min(len(l)-1, int(q*float64(len(l))))] }
	return at(0.5), at(0.99)
}

// newTextEncoder builds the configured text encoder with maxLen rows
// (the model's lengths.text unless the config says otherwise): the
// lexicon encoder with its lexicons from the assets folder assetsDir, or a
// BERT ONNX export run with threads threads, whose spec records the
// model file's sha256 so that a bundle trained on another model's features
// is refused. The returned close releases the encoder.
func newTextEncoder(assetsDir string, cfg TextConfig, maxLen, threads int) (TextEncoder, recipe.TextSpec, func() error, error) {
	lang := cfg.lang()
	if cfg.MaxLen > 0 {
		maxLen = cfg.MaxLen
	}
	if cfg.Encoder != "bert" {
		enc, spec, err := recipe.NewLexiconEncoder(assetsDir, lang, maxLen)
		return enc, spec, func() error { return nil }, err
	}
	v, err := text.BuiltinVocab(lang)
	if err != nil {
		return nil, recipe.TextSpec{}, nil, err
	}
	tok, err := text.NewTokenizer(v, text.Options{LowerCase: true, MaxLen: maxLen})
	if err != nil {
		return nil, recipe.TextSpec{}, nil, err
	}
	sum, err := fileSHA256(cfg.Model)
	if err != nil {
		return nil, recipe.TextSpec{}, nil, fmt.Errorf("app: text.model: %w", err)
	}
	enc, err := bert.Open(cfg.Model, cfg.Output, tok, threads)
	if err != nil {
		return nil, recipe.TextSpec{}, nil, fmt.Errorf("app: text.model: %w", err)
	}
	spec := recipe.TextSpec{Name: "bert", Version: "1", Lang: lang, MaxLen: maxLen, Dim: enc.Dim(), Lexicons: "none", LowerCase: true, Model: "sha256:" + sum}
	return enc, spec, enc.Close, nil
}

// fileSHA256 returns the hex sha256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rejectMessage returns the Kafka source's Config.Reject: it logs a
// malformed input message with its offset and reason, writes it to the
// dead-letter topic when one is configured, and counts it once written.
func (a *App) rejectMessage(dl *deadLetter, log *slog.Logger) func(context.Context, *kafka.MalformedError) error {
	return func(ctx context.Context, m *kafka.MalformedError) error {
		log.Warn("rejected input message", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "key", string(m.Key), "err", m.Err)
		if dl != nil {
			if err := dl.reject(ctx, m); err != nil {
				return err
			}
		}
		a.stats.Rejected.Add(1)
		return nil
	}
}

// framesNeeded returns, with privacy.roles set, whether a frame of a
// stream at a time may still fall into a window to be scored (see
// align.Aligner.Needs); nil without roles, when every frame is extracted.
func (a *App) framesNeeded(p PrivacyConfig) func(stream string, t time.Duration) bool {
	if len(p.Roles) == 0 {
		return nil
	}
	scored := func(speaker string) bool { return !p.excludes(speaker) }
	return func(stream string, t time.Duration) bool { return a.aligner.Needs(stream, t, scored) }
}

// rejectItem returns the transcript input's handler of a decoded item
// that cannot enter the aligner: it logs and counts it and writes it to the
// dead-letter topic when one is configured, retrying until it succeeds or
// ctx is done.
func (a *App) rejectItem(dl *deadLetter, log *slog.Logger) func(context.Context, any, error) error {
	return func(ctx context.Context, item any, reason error) error {
		stream, _ := describe(item)
		log.Warn("rejected input", "stream", stream, "err", reason)
		a.stats.Rejected.Add(1)
		if dl == nil {
			return nil
		}
		return dl.Write(ctx, []*pipeline.ItemError{{Node: "source", Item: item, Err: reason}})
	}
}
