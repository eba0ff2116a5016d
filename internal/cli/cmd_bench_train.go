package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/train"
)

func init() {
	benchTargets["train"] = benchTrain
}

// trainBenchResult is the --json output of bench train.
type trainBenchResult struct {
	Clips        int     `json:"train_clips"`
	Stage1EpochS float64 `json:"stage1_epoch_s"`
	Stage2EpochS float64 `json:"stage2_epoch_s"`
	// Stage1CPUS and Stage2CPUS are the process's CPU-seconds from the
	// start of the run (stage 1, data preparation included) or the end of
	// stage 1's epoch (stage 2) to the end of the stage's epoch: unlike the
	// wall times, they hardly depend on other jobs on the machine.
	Stage1CPUS float64 `json:"stage1_epoch_cpu_s"`
	Stage2CPUS float64 `json:"stage2_epoch_cpu_s"`
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages
	// before and after the run (/proc/loadavg).
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
}

// benchTrain times one epoch of each stage on MOSI-shaped random data
// (cmc-model.md §1.2: text 50x768, audio 375x5, vision 500x20; 2 layers,
// 4 heads; batch 64; 1284 train, 229 valid and 686 test clips by default).
// An epoch's time includes its validation and test passes, as in training.
func benchTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench train", stderr)
	clips := fs.Int("clips", 1284, "training clips (MOSI's train split has 1284)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `file` (go tool pprof)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *clips < 2 {
		return fmt.Errorf("%w: --clips must be at least 2", errUsage)
	}
	held := max(2, *clips*229/1284)
	data := train.Data{Train: train.SyntheticMOSI(*clips, 1), Valid: train.SyntheticMOSI(held, 2), Test: train.SyntheticMOSI(max(2, *clips*686/1284), 3)}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	res := trainBenchResult{Clips: *clips, LoadStart: loadAverage()}
	cpu := cputime.Seconds()
	settings := train.Settings{Model: model.Config{Convention: "mosi", Layers: 2, Heads: 4, OutDropout: 0.5}, MaxEpochs: 1, Patience: 1, Seed: 1}
	_, _, err = train.Run(ctx, settings, data, func(r train.EpochReport) {
		now := cputime.Seconds()
		if r.Stage == 1 {
			res.Stage1EpochS, res.Stage1CPUS = r.Duration.Seconds(), now-cpu
		} else {
			res.Stage2EpochS, res.Stage2CPUS = r.Duration.Seconds(), now-cpu
		}
		cpu = now
	})
	if err != nil {
		return err
	}
	res.LoadEnd = loadAverage()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "# %s/%s, %d CPUs (%s), Go %s; MOSI-shaped random data, %d train clips, batch 64, 2 layers, 4 heads, 2 threads\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), *clips)
	fmt.Fprintf(stdout, "# load average %s before, %s after\n", res.LoadStart, res.LoadEnd)
	fmt.Fprintf(stdout, "train stage 1 epoch %6.1f s wall %6.1f CPU-s\ntrain stage 2 epoch %6.1f s wall %6.1f CPU-s\n",
		res.Stage1EpochS, res.Stage1CPUS, res.Stage2EpochS, res.Stage2CPUS)
	return nil
}
