package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/cmc-stream/cmc-stream/features/recipe"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/extract"
)

func init() {
	commands["extract"] = command{
		summary: "build an MMSA-layout dataset from media, transcripts and labels with the live extractors",
		run:     runExtract,
	}
}

func runExtract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("extract", stderr)
	media := fs.String("media", "", "`folder` of clips: <clip_id>.wav and/or <clip_id>.mp4 (or .avi, .mkv, .mov, .webm)")
	transcripts := fs.String("transcripts", "", "JSONL `file`: {\"clip_id\",\"start\",\"end\",\"text\"} per clip")
	labels := fs.String("labels", "", "optional CH-SIMS label CSV `file` (video_id,clip_id,text,label,label_T,label_A,label_V,mode)")
	out := fs.String("out", "", "dataset `file` to write (.pkl)")
	lang := fs.String("lang", "en", "text language: en or zh")
	maxLen := fs.Int("max-len", 50, "tokens per text, [CLS] and [SEP] included (MMSA: 50 for MOSI, 39 for SIMS)")
	fps := fs.Float64("fps", 15, "video frames per second to sample")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *media == "" || *transcripts == "" || *out == "" {
		return fmt.Errorf("%w: --media, --transcripts and --out are required", errUsage)
	}
	paths, stop, err := native{onnx: true}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	enc, spec, err := recipe.NewLexiconEncoder(paths.AssetsDir, *lang, *maxLen)
	if err != nil {
		return err
	}
	bar := newProgress(stderr)
	res, err := extract.Run(ctx, extract.Config{
		Media: *media, Transcripts: *transcripts, Labels: *labels, Text: enc, Spec: recipe.Default(spec), FPS: *fps,
		Vision:   vision.DefaultConfig(paths.AssetsDir),
		Progress: func(done, total int) { bar.show("extract", done, total) },
		Report: func(clip string, err error) {
			bar.clear()
			fmt.Fprintf(stderr, "skipped clip %s: %v\n", clip, err)
		},
	}, *out)
	bar.clear()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d clips (%d skipped), audio padded to %d frames, vision to %d frames\n",
		*out, res.Clips, res.Skipped, res.AudioLen, res.VisionLen)
	return nil
}
