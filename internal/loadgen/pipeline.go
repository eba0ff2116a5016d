package loadgen

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/internal/broker"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// topic is the transcript topic of the in-process broker.
const topic = "bench.transcripts"

// endSlack is how far an utterance may end after Config.Duration (or a
// cut's end) and still be produced: transcripts round their times, so the
// last utterance of a clip may end a fraction of a millisecond after its
// audio. Such an utterance is produced ending with the audio (see
// endWithin).
const endSlack = 10 * time.Millisecond

// endWithin returns the utterances of us that end at most endSlack after
// limit, those ending after length (the audio's duration) made to end
// there. A speech recogniser's segment cannot end after the audio it
// heard, and the aligner waits for audio up to a window's end: a segment
// ending after its stream's audio would hold its window until
// window.max_wait, since a media file's end is not announced to the
// aligner (with the showcase staggered over 32 streams, stream 5's last
// utterance ended 9.7 ms after its cut's audio, and its event came 1.1 s
// after its window's end).
func endWithin(us []Utterance, limit, length time.Duration) []Utterance {
	var out []Utterance
	for _, u := range us {
		if seconds(u.End) > limit+endSlack {
			continue
		}
		if seconds(u.End) > length {
			u.End = length.Seconds()
		}
		out = append(out, u)
	}
	return out
}

// Defaults of Config.
const (
	// DefaultDrain is how long a run waits for its last events after the
	// last utterance ended.
	DefaultDrain = 5 * time.Second
	// DefaultMaxWait is the aligner's wait for missing modalities (the
	// demo's setting).
	DefaultMaxWait = time.Second
)

// OverdueSlack is what an event's end-to-end latency may add to its
// window's wait (at most window.max_wait) and scoring (feature extraction
// and forward pass) before Result.Overdue counts it: the aligner's tick
// (pipeline.DefaultTickInterval, 100 ms), the transcript's way through the
// broker to the aligner, and the queue to a free scoring worker. With vision
// starved beside busy processes (TestRunOverload) these added up to 20 ms
// for most events and to 371 ms at most in 34 events.
const OverdueSlack = 500 * time.Millisecond

// Config configures a run. The zero value of a field selects its default.
type Config struct {
	// Streams is the number of concurrent streams; required, at least 1.
	Streams int
	// Clip is what every stream plays; required.
	Clip Clip
	// Bundle is the model bundle directory; required.
	Bundle string
	// Assets is the folder of fetched assets (models, lexicons; the
	// pipeline's assets.dir); required. ONNX Runtime must have been
	// initialised (onnx.Init) for the vision features.
	Assets string
	// Duration is how long each stream plays: utterances ending later
	// (by more than 10 ms) are not produced. A Duration above the clip's
	// length loops the clip. Default: the clip's length.
	Duration time.Duration
	// Stagger starts stream i's playback i/Streams of the clip's length
	// into the clip (the staggered copies are cut with ffmpeg before the
	// run), so that the streams' utterances end at different moments, as
	// independent calls do. Without it every stream plays the clip from
	// its start and all their windows end at once: the worst-case burst.
	Stagger bool
	// Workers is the number of windows scored at once. Default
	// runtime.NumCPU().
	Workers int
	// Threads is the number of goroutines of one forward pass. Default 1.
	Threads int
	// VisionWorkers is the number of frames whose vision features are
	// computed at once (pipeline.vision_workers). Default
	// app.DefaultVisionWorkers().
	VisionWorkers int
	// Queue is the capacity of the pipeline's queues. Default: live's (16).
	Queue int
	// MaxWait is how long a due window waits for a missing modality.
	// Default DefaultMaxWait.
	MaxWait time.Duration
	// Drain is how long the run waits for the last events after the last
	// utterance ended. Default DefaultDrain.
	Drain time.Duration
	// Logger receives the pipeline's warnings. Default: discarded.
	Logger *slog.Logger
	// SecureKafka runs the transcript feed over TLS (a certificate
	// authority made for the run) with SASL SCRAM-SHA-512, as a managed
	// Kafka requires, to measure what security costs. Default false:
	// plaintext.
	SecureKafka bool

	// started, when set, is called once the pipeline runs, after the
	// streams' clips were prepared (tests load the machine from then on).
	started func()
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Streams < 1:
		return fmt.Errorf("loadgen: %d streams, want at least 1", c.Streams)
	case c.Clip.Video == "" || c.Clip.Audio == "" || len(c.Clip.Utterances) == 0 || c.Clip.Length <= 0:
		return errors.New("loadgen: the clip needs a video, an audio file, utterances and a length")
	case c.Bundle == "":
		return errors.New("loadgen: a model bundle is required")
	case c.Assets == "":
		return errors.New("loadgen: the assets folder is required")
	case c.Duration < 0 || c.Drain < 0 || c.MaxWait < 0 || c.Workers < 0 || c.Threads < 0 || c.VisionWorkers < 0 || c.Queue < 0:
		return errors.New("loadgen: durations and counts must not be negative")
	}
	return nil
}

// Result is what one run measured. Latencies are in milliseconds, from a
// window's end (in wall time, on the pipeline's stream clock) to the moment
// its event reached the sinks.
type Result struct {
	// Streams is the number of concurrent streams.
	Streams int `json:"streams"`
	// VisionWorkers is the pipeline's pipeline.vision_workers.
	VisionWorkers int `json:"vision_workers"`
	// Played is how long each stream played, in seconds.
	Played float64 `json:"played_s"`
	// Elapsed is the wall time from the start to the last event, in
	// seconds.
	Elapsed float64 `json:"elapsed_s"`
	// Expected is the number of utterances produced: one event each.
	Expected int64 `json:"expected"`
	// Windows and Events are what the aligner emitted and the sinks got.
	Windows int64 `json:"windows"`
	Events  int64 `json:"events"`
	// EventsPerSec is Events over Elapsed.
	EventsPerSec float64 `json:"events_per_s"`
	// Dropped counts media dropped by the sources and the aligner; Failed
	// counts items that failed in a stage or sink.
	Dropped int64 `json:"drops"`
	Failed  int64 `json:"failed"`
	// P50, P99 and Max are end-to-end latencies in ms.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// FeaturesP50 and FeaturesP99 are the scorer's feature extraction
	// times (text and audio, in ms): the part of the latency spent
	// computing after the window closed, the rest being the wait for the
	// window's media and transcript and the queues.
	FeaturesP50 float64 `json:"features_p50_ms"`
	FeaturesP99 float64 `json:"features_p99_ms"`
	// Overdue counts the events whose latency exceeded window.max_wait
	// plus their own scoring time (features and model) plus OverdueSlack:
	// windows held back by more than the aligner's bounded wait, such as
	// by a backlog of video frames ahead of their transcript.
	Overdue int64 `json:"overdue"`
	// HeapInuse (MiB), RSS (MiB) and Goroutines are sampled when the last
	// event arrived, before shutdown. RSS is the process's resident set
	// (the Go heap plus ONNX Runtime's and OpenCV's memory), 0 where
	// /proc/self/statm cannot be read.
	HeapInuse  float64 `json:"heap_inuse_mib"`
	RSS        float64 `json:"rss_mib"`
	Goroutines int     `json:"goroutines"`
	// RSSPerStream is RSS over Streams, in MiB.
	RSSPerStream float64 `json:"rss_per_stream_mib"`
	// CPU is the CPU time per stream-second of playback, in ms, split by
	// stage (see CPUSplit), from the start to the last event.
	CPU CPUSplit `json:"cpu_ms_per_stream_s"`
}

// CPUSplit is CPU time in ms per stream-second, per stage of the pipeline
// (measured with each work item's thread CPU clock, see package cputime).
// Total is the process's own CPU time (getrusage) and Other what no stage
// accounts for: the Go runtime and its collector, the aligner, the queues,
// the transcript feed, the in-process Kafka broker, reading the audio
// decoders' output and threads that libraries start (OpenCV's decoder
// threads); the ffmpeg processes that decode the audio files are not
// counted.
type CPUSplit struct {
	Decode float64 `json:"decode"`
	Vision float64 `json:"vision"`
	Audio  float64 `json:"audio"`
	Text   float64 `json:"text"`
	Model  float64 `json:"model"`
	Sinks  float64 `json:"sinks"`
	Other  float64 `json:"other"`
	Total  float64 `json:"total"`
}

// String formats the split as name=value pairs.
func (c CPUSplit) String() string {
	return fmt.Sprintf("decode=%.1f vision=%.1f audio=%.1f text=%.1f model=%.1f sinks=%.1f other=%.1f total=%.1f",
		c.Decode, c.Vision, c.Audio, c.Text, c.Model, c.Sinks, c.Other, c.Total)
}

// cpuSplit converts the meter's split and the process's CPU time over a
// run of streamSec stream-seconds into a CPUSplit.
func cpuSplit(s cputime.Split, self time.Duration, streamSec float64) CPUSplit {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / streamSec }
	return CPUSplit{Decode: ms(s[cputime.Decode]), Vision: ms(s[cputime.Vision]), Audio: ms(s[cputime.Audio]), Text: ms(s[cputime.Text]),
		Model: ms(s[cputime.Model]), Sinks: ms(s[cputime.Sinks]), Other: ms(self - s.Sum()), Total: ms(self)}
}

// String formats the result as one line.
func (r Result) String() string {
	return fmt.Sprintf("streams=%d played=%.1fs events=%d/%d windows=%d events/s=%.2f drops=%d failed=%d p50=%.1fms p99=%.1fms max=%.1fms overdue=%d features-p50=%.1fms features-p99=%.1fms heap=%.1fMiB rss=%.0fMiB rss/stream=%.1fMiB goroutines=%d cpu-ms/stream-s: %v",
		r.Streams, r.Played, r.Events, r.Expected, r.Windows, r.EventsPerSec, r.Dropped, r.Failed, r.P50, r.P99, r.Max, r.Overdue,
		r.FeaturesP50, r.FeaturesP99, r.HeapInuse, r.RSS, r.RSSPerStream, r.Goroutines, r.CPU)
}

// Target is what a sustained load must meet.
type Target struct {
	// P99 bounds the end-to-end p99 latency.
	P99 time.Duration
}

// Met reports whether r meets the target: every expected event, no drops,
// no failures and p99 below the bound.
func (t Target) Met(r Result) bool {
	return r.Events == r.Expected && r.Dropped == 0 && r.Failed == 0 && r.P99 < float64(t.P99)/float64(time.Millisecond)
}

// Run plays cfg.Streams streams at real-time pace through one live.App and
// returns what it measured. It returns when every expected event arrived,
// or Drain after the last utterance ended, or when ctx is done (with its
// error).
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Duration == 0 {
		cfg.Duration = cfg.Clip.Length
	}
	if cfg.Drain == 0 {
		cfg.Drain = DefaultDrain
	}
	dir, err := os.MkdirTemp("", "cmc-bench-")
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary folder
	clips, err := streamClips(ctx, cfg, dir)
	if err != nil {
		return Result{}, err
	}
	var expected int64
	var last time.Duration
	for _, c := range clips {
		if n := len(c.Utterances); n > 0 {
			expected += int64(n)
			last = max(last, seconds(c.Utterances[n-1].End))
		}
	}
	if expected == 0 {
		return Result{}, fmt.Errorf("loadgen: no utterance ends within %v", cfg.Duration)
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bcfg := broker.Config{Addr: "127.0.0.1:0", Topics: []string{topic}, Partitions: 1}
	var sec kafkasec.Config
	if cfg.SecureKafka {
		dir, err := os.MkdirTemp("", "cmc-bench-kafka-")
		if err != nil {
			return Result{}, fmt.Errorf("loadgen: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }() // a temporary folder
		if bcfg, sec, err = secureBroker(bcfg, dir); err != nil {
			return Result{}, err
		}
	}
	b, err := broker.Start(parent, bcfg)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = b.Close() }()
	tr, err := sec.Transport()
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}

	acfg := appConfig(cfg, clips, b.Addr())
	col := newCollector(expected, acfg.Window.MaxWait+OverdueSlack)
	acfg.Sources.Transcripts.Kafka.Security = sec
	meter := new(cputime.Meter)
	flow, err := app.Build(acfg, app.Options{Logger: cfg.Logger, Extra: []pipeline.Sink[event.Event]{col}, CPU: meter})
	if err != nil {
		return Result{}, err
	}

	cpu0 := cputime.Seconds()
	split0 := meter.Split()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- flow.Run(ctx) }()
	if cfg.started != nil {
		cfg.started()
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: topic, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll, Transport: tr}
	var wg sync.WaitGroup
	feedErr := make(chan error, cfg.Streams)
	for i := range cfg.Streams {
		wg.Go(func() { feedErr <- feed(ctx, w, streamID(i), clips[i].Utterances, start) })
	}

	deadline := time.NewTimer(last + cfg.Drain)
	defer deadline.Stop()
	var res Result
	select {
	case <-col.done:
	case <-deadline.C:
	case err := <-runErr:
		// The pipeline stopped on its own before the events arrived.
		cancel()
		wg.Wait()
		return Result{}, errors.Join(fmt.Errorf("loadgen: the pipeline stopped early"), err, w.Close())
	case <-ctx.Done():
	}
	cpu1 := cputime.Seconds()
	split1, wall := meter.Split(), time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse, res.RSS, res.Goroutines = float64(ms.HeapInuse)/(1<<20), rss(), runtime.NumGoroutine()
	cancel()
	wg.Wait()
	close(feedErr)
	errs := []error{<-runErr, w.Close()}
	for err := range feedErr {
		if !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	var split cputime.Split
	for i := range split {
		split[i] = split1[i] - split0[i]
	}
	res.CPU = cpuSplit(split, time.Duration((cpu1-cpu0)*float64(time.Second)), float64(cfg.Streams)*wall.Seconds())
	res.RSSPerStream = res.RSS / float64(cfg.Streams)
	sum := flow.Summary()
	res.Streams, res.Played, res.Expected = cfg.Streams, cfg.Duration.Seconds(), expected
	res.VisionWorkers = cmp.Or(acfg.Pipeline.VisionWorkers, app.DefaultVisionWorkers())
	res.Windows, res.Dropped, res.Failed = sum.Windows, sum.Dropped, sum.Failed
	col.fill(&res, start)
	return res, parent.Err()
}

// streamID names stream i.
func streamID(i int) string { return fmt.Sprintf("bench-%03d", i) }

// streamClips returns what each stream plays, cfg.Duration long, with the
// utterances that end within it: the clip, looped into dir when it is
// shorter than needed, and with Stagger, cut from a later start for every
// stream but the first.
func streamClips(ctx context.Context, cfg Config, dir string) ([]Clip, error) {
	clip, need := cfg.Clip, cfg.Duration
	if cfg.Stagger && cfg.Streams > 1 {
		need += clip.Length
	}
	if need > clip.Length {
		times := int(math.Ceil(need.Seconds() / clip.Length.Seconds()))
		var err error
		if clip, err = clip.Loop(ctx, times, dir); err != nil {
			return nil, err
		}
	}
	clips := make([]Clip, cfg.Streams)
	for i := range clips {
		offset := time.Duration(0)
		if cfg.Stagger {
			offset = time.Duration(i) * cfg.Clip.Length / time.Duration(cfg.Streams)
		}
		c := clip
		if offset > 0 {
			var err error
			if c, err = clip.Cut(ctx, offset, cfg.Duration, dir, streamID(i)); err != nil {
				return nil, err
			}
		}
		c.Utterances = endWithin(c.Utterances, cfg.Duration, c.Length)
		clips[i] = c
	}
	return clips, nil
}

// appConfig is the pipeline of a run: N video and N audio file sources
// played in real time, the Kafka transcript feed, utterance windows and the
// stdout sink writing JSON lines to nowhere; no operations port (the bench
// reads its figures itself).
func appConfig(cfg Config, clips []Clip, addr string) *app.Config {
	c := &app.Config{
		Model:         app.ModelConfig{Bundle: cfg.Bundle, Threads: cfg.Threads},
		Window:        app.WindowConfig{Policy: "utterance", MaxWait: cfg.MaxWait},
		Sinks:         app.SinksConfig{Stdout: &app.StdoutSink{Format: "jsonl"}},
		Pipeline:      app.PipelineConfig{Workers: cfg.Workers, VisionWorkers: cfg.VisionWorkers, Queue: cfg.Queue},
		Observability: app.ObservabilityConfig{Listen: app.ObservabilityDisabled},
		Assets:        app.AssetsConfig{Dir: cfg.Assets},
	}
	if c.Window.MaxWait == 0 {
		c.Window.MaxWait = DefaultMaxWait
	}
	if c.Pipeline.Workers == 0 {
		c.Pipeline.Workers = runtime.NumCPU()
	}
	for i, clip := range clips {
		id := streamID(i)
		c.Sources.Video = append(c.Sources.Video, app.VideoSource{StreamID: id, Device: clip.Video, FPS: 15, Width: 320, Height: 240})
		c.Sources.Audio = append(c.Sources.Audio, app.AudioSource{StreamID: id, File: clip.Audio, SampleRate: 16000})
	}
	c.Sources.Transcripts.Kafka = &app.KafkaInput{Brokers: []string{addr}, Topic: topic, Group: "cmc-bench"}
	return c
}

// feed produces each utterance of stream id as a final transcript segment
// when the playback, started at start, reaches its end.
func feed(ctx context.Context, w *kafka.Writer, id string, utts []Utterance, start time.Time) error {
	for _, u := range utts {
		t := time.NewTimer(time.Until(start.Add(seconds(u.End))))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		seg, err := json.Marshal(event.Segment{StreamID: id, Speaker: "speaker", Start: event.StreamOffset(seconds(u.Start)),
			End: event.StreamOffset(seconds(u.End)), Text: u.Text, Final: true, Lang: "en"})
		if err != nil {
			return err
		}
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(id), Value: seg}); err != nil {
			return fmt.Errorf("loadgen: producing the transcript of %s: %w", id, err)
		}
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// collector is the sink that timestamps events as they are written. Safe
// for concurrent use.
type collector struct {
	expected int64
	// bound is how long after its window's end, beyond its scoring
	// time, an event may arrive before it counts as overdue.
	bound     time.Duration
	done      chan struct{}
	mu        sync.Mutex
	latencies []float64 // end to end, ms
	features  []float64 // the scorer's feature extraction, ms
	overdue   int64
	last      time.Time
}

func newCollector(expected int64, bound time.Duration) *collector {
	return &collector{expected: expected, bound: bound, done: make(chan struct{}),
		latencies: make([]float64, 0, expected), features: make([]float64, 0, expected)}
}

// Write records each event's latency from its window's end.
func (c *collector) Write(_ context.Context, batch []event.Event) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range batch {
		latency := float64(now.Sub(e.Window.End)) / float64(time.Millisecond)
		c.latencies = append(c.latencies, latency)
		c.features = append(c.features, e.LatencyMS.Features)
		if latency > float64(c.bound)/float64(time.Millisecond)+e.LatencyMS.Features+e.LatencyMS.Model {
			c.overdue++
		}
	}
	c.last = now
	if int64(len(c.latencies)) == c.expected {
		close(c.done)
	}
	return nil
}

// Close does nothing.
func (c *collector) Close(context.Context) error { return nil }

// fill sets the event counts and latencies of r.
func (c *collector) fill(r *Result, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Events, r.Overdue = int64(len(c.latencies)), c.overdue
	if r.Events == 0 {
		return
	}
	l, f := slices.Sorted(slices.Values(c.latencies)), slices.Sorted(slices.Values(c.features))
	r.P50, r.P99, r.Max = quantile(l, 0.5), quantile(l, 0.99), l[len(l)-1]
	r.FeaturesP50, r.FeaturesP99 = quantile(f, 0.5), quantile(f, 0.99)
	r.Elapsed = c.last.Sub(start).Seconds()
	r.EventsPerSec = float64(r.Events) / r.Elapsed
}

// quantile returns the q-quantile of the sorted, non-empty l: the smallest
// value with at least q of the values at or below it.
func quantile(l []float64, q float64) float64 {
	return l[max(0, min(len(l)-1, int(math.Ceil(q*float64(len(l))))-1))]
}

// rss returns the process's resident set size in MiB from
// /proc/self/statm, or 0 when it cannot be read.
func rss() float64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return float64(pages*int64(os.Getpagesize())) / (1 << 20)
}

// benchUser is the SASL user of the secured broker of Config.SecureKafka.
const benchUser = "cmc-bench"

// secureBroker adds TLS with a new authority and a SCRAM-SHA-512 user of a
// random password to bcfg, writing the certificates and the password file
// to dir, and returns the client security that connects to it.
func secureBroker(bcfg broker.Config, dir string) (broker.Config, kafkasec.Config, error) {
	ss, err := broker.NewSelfSigned(dir)
	if err != nil {
		return bcfg, kafkasec.Config{}, err
	}
	pass := rand.Text()
	passFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passFile, []byte(pass), 0o600); err != nil {
		return bcfg, kafkasec.Config{}, fmt.Errorf("loadgen: %w", err)
	}
	bcfg.TLS = ss.Server
	bcfg.Users = []broker.User{{Mechanism: kafkasec.ScramSHA512, Name: benchUser, Password: pass}}
	return bcfg, kafkasec.Config{TLS: &kafkasec.TLSConfig{CAFile: ss.CAFile},
		SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA512, Username: benchUser, PasswordFile: passFile}}, nil
}
