package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/loadgen"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/onnxexport"
)

func init() {
	commands["bench"] = command{
		summary: "measure latency and throughput: bench model, features, train, pipeline, asr",
		run:     runBench,
	}
}

// benchTargets maps "cmc-stream bench <target>" to its implementation.
var benchTargets = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"model":    benchModel,
	"pipeline": benchPipeline,
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	names := make([]string, 0, len(benchTargets))
	for n := range benchTargets {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintf(stderr, "usage: cmc-stream bench TARGET [flags]\ntargets: %s\n(cmc-stream bench TARGET -h lists a target's flags)\n",
			strings.Join(names, ", "))
		return flag.ErrHelp
	}
	if len(args) == 0 || benchTargets[args[0]] == nil {
		return fmt.Errorf("%w: bench needs a target: %s", errUsage, strings.Join(names, ", "))
	}
	return benchTargets[args[0]](ctx, args[1:], stdout, stderr)
}

// benchResult is one measured configuration.
type benchResult struct {
	Preset      string  `json:"preset"`
	Batch       int     `json:"batch"`
	Fill        float64 `json:"fill"`
	Threads     int     `json:"threads"`
	Runs        int     `json:"runs"`
	MsPerSample float64 `json:"ms_per_sample"`
	MsPerBatch  float64 `json:"ms_per_batch"`
	// With --compare onnxruntime: ONNX Runtime's time on the same inputs,
	// the ratio Go / ONNX Runtime and the largest logit difference.
	OrtMsPerSample float64 `json:"ort_ms_per_sample,omitempty"`
	Ratio          float64 `json:"ratio,omitempty"`
	MaxLogitDiff   float64 `json:"max_logit_diff,omitempty"`
}

func benchModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench model", stderr)
	presets := fs.String("preset", "mosi,sims", "comma-separated model shapes: mosi, mosei, sims, sims2")
	batches := fs.String("batch", "1,64", "comma-separated batch sizes")
	fills := fs.String("fill", "1,0.3", "comma-separated fractions of real audio/vision frames (the rest is zero padding)")
	threads := fs.Int("threads", 2, "goroutines per forward pass")
	minTime := fs.Duration("time", 2*time.Second, "minimum measuring time per configuration")
	asJSON := fs.Bool("json", false, "print one JSON object per configuration")
	compare := fs.String("compare", "", "also time `engine` on the exported model with the same inputs and threads, interleaved with the Go engine: onnxruntime")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *compare != "" && *compare != "onnxruntime" {
		return fmt.Errorf("%w: --compare: unknown engine %q (want onnxruntime)", errUsage, *compare)
	}
	assets, stop, err := native{onnx: *compare != ""}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	batchList, err := intList("batch", *batches)
	if err != nil {
		return err
	}
	fillList, err := floatList("fill", *fills)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "# %s/%s, %d CPUs (%s), Go %s, load average %s; random weights, synthetic inputs\n",
			runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), loadAverage())
		if *compare != "" {
			fmt.Fprintf(stdout, "# compared with ONNX Runtime (%s) on the exported graph, %d intra-op threads, runs interleaved\n", assets.ORTLibrary, *threads)
		}
	}
	for _, name := range strings.Split(*presets, ",") {
		preset, ok := model.Presets[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("%w: --preset: unknown shape %q", errUsage, name)
		}
		m, err := model.New(preset.Config())
		if err != nil {
			return err
		}
		m.Weights.Randomize(1)
		for _, batch := range batchList {
			for _, fill := range fillList {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				measure := measureForward
				if *compare != "" {
					measure = compareForward
				}
				r, err := measure(m, batch, fill, *threads, *minTime)
				if err != nil {
					return err
				}
				r.Preset = preset.Name
				if *asJSON {
					if err := json.NewEncoder(stdout).Encode(r); err != nil {
						return err
					}
					continue
				}
				if *compare != "" {
					fmt.Fprintf(stdout, "model %-5s batch=%-3d fill=%3.0f%% threads=%d  go %7.3f  onnxruntime %7.3f ms/sample  go/ort %.2fx  (max |logit diff| %.1g, %d runs each)\n",
						r.Preset, r.Batch, r.Fill*100, r.Threads, r.MsPerSample, r.OrtMsPerSample, r.Ratio, r.MaxLogitDiff, r.Runs)
					continue
				}
				fmt.Fprintf(stdout, "model %-5s batch=%-3d fill=%3.0f%% threads=%d  %8.3f ms/sample  %9.3f ms/batch  (%d runs)\n",
					r.Preset, r.Batch, r.Fill*100, r.Threads, r.MsPerSample, r.MsPerBatch, r.Runs)
			}
		}
	}
	return nil
}

// measureForward times Forward on a synthetic batch until minTime passes.
func measureForward(m *model.Model, batch int, fill float64, threads int, minTime time.Duration) (benchResult, error) {
	x := model.SyntheticInput(&m.Config, batch, fill, 2)
	run := model.NewInferencer(m, model.Options{Threads: threads})
	var out model.Output
	if err := run.Forward(x, &out); err != nil { // warm-up: buffers grow once
		return benchResult{}, err
	}
	runs := 0
	start := time.Now()
	for time.Since(start) < minTime || runs < 3 {
		if err := run.Forward(x, &out); err != nil {
			return benchResult{}, err
		}
		runs++
	}
	perBatch := float64(time.Since(start).Microseconds()) / 1e3 / float64(runs)
	return benchResult{Batch: batch, Fill: fill, Threads: threads, Runs: runs,
		MsPerBatch: perBatch, MsPerSample: perBatch / float64(batch)}, nil
}

// compareForward exports m, opens it in ONNX Runtime with threads
// intra-op threads, and times ONNX Runtime and the Go engine on the same
// synthetic batch, alternating one run of each until both have had
// minTime, so that both see the same machine load.
func compareForward(m *model.Model, batch int, fill float64, threads int, minTime time.Duration) (benchResult, error) {
	raw, err := onnxexport.Marshal(m)
	if err != nil {
		return benchResult{}, err
	}
	s, err := onnx.Open("", raw, onnxexport.Inputs[:], onnxexport.Outputs[:1], threads)
	if err != nil {
		return benchResult{}, err
	}
	defer func() { _ = s.Close() }()
	x := model.SyntheticInput(&m.Config, batch, fill, 2)
	var in []onnx.Tensor
	for _, seq := range x {
		in = append(in, onnx.Tensor{Shape: []int64{int64(seq.Batch), int64(seq.Len), int64(seq.Dim)}, F32: seq.Data})
	}
	run := model.NewInferencer(m, model.Options{Threads: threads})
	var out model.Output
	// Warm-up: buffers grow once, ONNX Runtime plans its memory.
	if err := run.Forward(x, &out); err != nil {
		return benchResult{}, err
	}
	got, err := s.Run(in...)
	if err != nil {
		return benchResult{}, err
	}
	var diff float64
	for i, v := range got[0].F32 {
		diff = max(diff, math.Abs(float64(v-out.Logits[i])))
	}
	var goTime, ortTime time.Duration
	runs := 0
	for goTime < minTime || ortTime < minTime || runs < 3 {
		start := time.Now()
		if err := run.Forward(x, &out); err != nil {
			return benchResult{}, err
		}
		mid := time.Now()
		if _, err := s.Run(in...); err != nil {
			return benchResult{}, err
		}
		goTime += mid.Sub(start)
		ortTime += time.Since(mid)
		runs++
	}
	perBatch := goTime.Seconds() * 1e3 / float64(runs)
	ortPerBatch := ortTime.Seconds() * 1e3 / float64(runs)
	return benchResult{Batch: batch, Fill: fill, Threads: threads, Runs: runs,
		MsPerBatch: perBatch, MsPerSample: perBatch / float64(batch),
		OrtMsPerSample: ortPerBatch / float64(batch), Ratio: perBatch / ortPerBatch, MaxLogitDiff: diff}, nil
}

// benchPipeline replays --streams concurrent streams of a clip in real time
// through one pipeline, or with --search finds the largest count that meets
// the latency target, and prints one line (or JSON object) per run.
func benchPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench pipeline", stderr)
	streams := fs.Int("streams", 8, "concurrent streams; with --search, the most streams to try")
	search := fs.Bool("search", false, "find the largest number of streams, up to --streams, that meets the target")
	p99 := fs.Duration("p99", 250*time.Millisecond, "target: end-to-end p99 latency below this `duration` (and no drops, every event)")
	video := fs.String("video", demoVideo, "video `file` every stream plays")
	audio := fs.String("audio", "", "audio `file` of the video (default: the video's path with .wav)")
	transcript := fs.String("transcript", demoTranscript, "transcript JSONL `file` (start, end, text; clip_id filters by the video's name)")
	bundle := fs.String("model", demoBundle, "model bundle `directory`")
	duration := fs.Duration("duration", 0, "how long each stream plays; longer than the clip loops it (default: the clip's length)")
	stagger := fs.Bool("stagger", true, "start stream i i/N of the clip into it, so that the streams' utterances end at different moments (false: all in phase, the worst-case burst)")
	workers := fs.Int("workers", runtime.NumCPU(), "windows scored at once")
	threads := fs.Int("threads", 1, "goroutines per forward pass")
	visionWorkers := fs.Int("vision-workers", app.DefaultVisionWorkers(), "frames in vision extraction at once (pipeline.vision_workers)")
	secure := fs.Bool("kafka-secure", false, "run the transcript feed over TLS with SASL SCRAM-SHA-512 (a certificate authority made for the run), as a managed Kafka requires")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs to `file` (go tool pprof)")
	asJSON := fs.Bool("json", false, "print one JSON object per run")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *streams < 1 || *workers < 1 || *threads < 1 || *visionWorkers < 1 || *p99 <= 0 || *duration < 0 {
		return fmt.Errorf("%w: --streams, --workers, --threads, --vision-workers and --p99 must be positive", errUsage)
	}
	if *audio == "" {
		*audio = strings.TrimSuffix(*video, filepath.Ext(*video)) + ".wav"
	}
	paths := []*string{video, audio, transcript, bundle}
	for _, p := range paths {
		*p, _ = envconfig.ProjectFile(*p)
	}
	clip, err := loadgen.LoadClip(ctx, *video, *audio, *transcript)
	if err != nil {
		return err
	}
	assets, stop, err := native{onnx: true}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	cfg := loadgen.Config{Streams: *streams, Clip: clip, Bundle: *bundle, Assets: assets.AssetsDir, Duration: *duration, Stagger: *stagger, Workers: *workers, Threads: *threads, VisionWorkers: *visionWorkers, SecureKafka: *secure,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	target := loadgen.Target{P99: *p99}
	if !*asJSON {
		fmt.Fprintf(stdout, "# %s/%s, %d CPUs (%s), Go %s; load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), loadAverage())
		phase := "in phase"
		if *stagger {
			phase = "staggered"
		}
		fmt.Fprintf(stdout, "# clip %s (%.1f s, %d utterances), streams %s, workers=%d threads=%d vision_workers=%d; target: every event, no drops, p99 < %v\n",
			filepath.Base(clip.Video), clip.Length.Seconds(), len(clip.Utterances), phase, *workers, *threads, *visionWorkers, *p99)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	report := func(r loadgen.Result, met bool) error {
		if *asJSON {
			return json.NewEncoder(stdout).Encode(struct {
				loadgen.Result
				Met bool `json:"met"`
			}{r, met})
		}
		verdict := "MISSED"
		if met {
			verdict = "met"
		}
		_, err := fmt.Fprintf(stdout, "pipeline %s  %s\n", r, verdict)
		return err
	}
	if !*search {
		r, err := loadgen.Run(ctx, cfg)
		if err != nil {
			return err
		}
		return report(r, target.Met(r))
	}
	var reportErr error
	best, err := loadgen.Search(ctx, cfg, target, *streams, func(r loadgen.Result, met bool) {
		reportErr = cmp.Or(reportErr, report(r, met))
	})
	if err != nil {
		return err
	}
	if reportErr != nil {
		return reportErr
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "largest sustained: %d streams (of at most %d tried)\n", best, *streams)
	}
	return nil
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "unknown": a shared machine makes the numbers
// pessimistic.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func intList(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%w: --%s: %q is not a positive integer", errUsage, flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func floatList(flag, s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("%w: --%s: %q is not a fraction in (0,1]", errUsage, flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// startCPUProfile starts a CPU profile written to path (go tool pprof);
// an empty path profiles nothing. The returned function stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
