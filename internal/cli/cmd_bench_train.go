package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

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
	var res trainBenchResult
	res.Clips = *clips
	settings := train.Settings{Model: model.Config{Convention: "mosi", Layers: 2, Heads: 4, OutDropout: 0.5}, MaxEpochs: 1, Patience: 1, Seed: 1}
	_, _, err = train.Run(ctx, settings, data, func(r train.EpochReport) {
		if r.Stage == 1 {
			res.Stage1EpochS = r.Duration.Seconds()
		} else {
			res.Stage2EpochS = r.Duration.Seconds()
		}
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "# %s/%s, %d CPUs, Go %s; MOSI-shaped random data, %d train clips, batch 64, 2 layers, 4 heads\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), *clips)
	fmt.Fprintf(stdout, "train stage 1 epoch %6.1f s\ntrain stage 2 epoch %6.1f s\n", res.Stage1EpochS, res.Stage2EpochS)
	return nil
}
