package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"time"

	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/recipe"
	"github.com/cmc-stream/cmc-stream/features/vad"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

func init() {
	benchTargets["features"] = benchFeatures
}

// featureBenchResult is one line of bench features.
type featureBenchResult struct {
	Extractor string  `json:"extractor"`
	Unit      string  `json:"unit"`
	MsPerUnit float64 `json:"ms_per_unit"`
	Runs      int     `json:"runs"`
}

// benchFeatures times each extractor on one core: the audio recipe on 1 s
// of speech, Silero VAD on a 32 ms chunk, the vision extractor on a
// 320x240 frame of a demo clip (a drawn face), and the text encoder on a
// 20-word sentence.
func benchFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench features", stderr)
	minTime := fs.Duration("time", 2*time.Second, "minimum measuring time per extractor")
	asJSON := fs.Bool("json", false, "print one JSON object per extractor")
	if err := parse(fs, args); err != nil {
		return err
	}
	// One second of a 16 kHz chirp stands in for speech: the recipe's cost
	// depends only on the length.
	second := make([]float32, 16000)
	for i := range second {
		t := float64(i) / 16000
		second[i] = float32(0.3 * math.Sin(2*math.Pi*(220*t+330*t*t)))
	}
	ax, err := audio.NewExtractor(audio.Config{})
	if err != nil {
		return err
	}
	paths, stop, err := native{onnx: true}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	det, err := vad.Open(filepath.Join(paths.AssetsDir, vad.ModelFile))
	if err != nil {
		return err
	}
	defer func() { _ = det.Close() }()
	vx, err := vision.New(vision.DefaultConfig(paths.AssetsDir))
	if err != nil {
		return err
	}
	defer func() { _ = vx.Close() }()
	clip, ok := envconfig.ProjectFile("demo/media/c28_tpos_apos_vpos.mp4")
	if !ok {
		return fmt.Errorf("bench features: %s not found: run from the cmc-stream folder", clip)
	}
	var frame video.Frame
	if _, err := video.ReadFile(ctx, clip, video.Config{Device: clip, FPS: 15, Width: 320, Height: 240}, func(f video.Frame) error {
		if frame.Pix == nil {
			frame = f
		}
		return nil
	}); err != nil {
		return err
	}
	enc, _, err := recipe.NewLexiconEncoder(paths.AssetsDir, "en", 50)
	if err != nil {
		return err
	}
	sentence := "honestly the service was not great but the food was absolutely wonderful and I would happily come back again soon"
	textRows := make([]float32, enc.MaxLen()*enc.Dim())
	row := make([]float32, vision.Dims)
	cases := []struct {
		name, unit string
		run        func() error
	}{
		{"audio " + audio.SpecName, "s of audio", func() error { _, err := ax.Extract(second, 16000); return err }},
		{"vad silero-v5", "32 ms chunk", func() error { _, err := det.Prob(second[:vad.ChunkSize]); return err }},
		{"vision " + vision.SpecName, "320x240 frame", func() error { return vx.Extract(frame.Pix, frame.Width, frame.Height, row) }},
		{"text lexicon", "20-word sentence", func() error { return enc.EncodeTo(textRows, sentence) }},
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "# %s/%s, %d CPUs, Go %s; one goroutine per extractor\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	}
	for _, c := range cases {
		if err := c.run(); err != nil { // warm-up
			return fmt.Errorf("bench features: %s: %w", c.name, err)
		}
		runs := 0
		start := time.Now()
		for time.Since(start) < *minTime || runs < 3 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.run(); err != nil {
				return fmt.Errorf("bench features: %s: %w", c.name, err)
			}
			runs++
		}
		r := featureBenchResult{Extractor: c.name, Unit: c.unit, Runs: runs,
			MsPerUnit: float64(time.Since(start).Microseconds()) / 1e3 / float64(runs)}
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%-36s %9.3f ms per %s  (%d runs)\n", r.Extractor, r.MsPerUnit, r.Unit, r.Runs)
	}
	return nil
}
