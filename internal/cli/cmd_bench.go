package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/model"
)

func init() {
	commands["bench"] = command{
		summary: "measure latency and throughput: bench model",
		run:     runBench,
	}
}

// benchTargets maps "cmc-stream bench <target>" to its implementation.
var benchTargets = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"model": benchModel,
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	names := make([]string, 0, len(benchTargets))
	for n := range benchTargets {
		names = append(names, n)
	}
	sort.Strings(names)
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
}

func benchModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench model", stderr)
	presets := fs.String("preset", "mosi,sims", "comma-separated model shapes: mosi, mosei, sims, sims2")
	batches := fs.String("batch", "1,64", "comma-separated batch sizes")
	fills := fs.String("fill", "1,0.3", "comma-separated fractions of real audio/vision frames (the rest is zero padding)")
	threads := fs.Int("threads", 2, "goroutines per forward pass")
	minTime := fs.Duration("time", 2*time.Second, "minimum measuring time per configuration")
	asJSON := fs.Bool("json", false, "print one JSON object per configuration")
	if err := parse(fs, args); err != nil {
		return err
	}
	batchList, err := intList("batch", *batches)
	if err != nil {
		return err
	}
	fillList, err := floatList("fill", *fills)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "# %s/%s, %d CPUs, Go %s; random weights, synthetic inputs\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
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
				r, err := measureForward(m, batch, fill, *threads, *minTime)
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
