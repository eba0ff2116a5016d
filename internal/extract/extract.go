// Package extract builds datasets in the MMSA pickle layout from media
// files, transcripts and labels with the same extractors as the live
// pipeline (cmc-stream extract), so that a model trained on them sees in
// production the features it was trained on.
package extract

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmc-stream/cmc-stream/features"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/media"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

// Config configures a run.
type Config struct {
	// Media is the folder of clips: <clip_id>.wav for the audio (else the
	// audio track of the video, read with ffmpeg) and <clip_id>.mp4, .avi,
	// .mkv, .mov or .webm for the video.
	Media string
	// Transcripts is a JSONL file: {"clip_id","start","end","text"} per
	// clip, times in seconds within the clip's files.
	Transcripts string
	// Labels is an optional CSV in the CH-SIMS layout (video_id, clip_id,
	// text, label, label_T, label_A, label_V, mode). Without it every clip
	// goes to the "test" split with label 0.
	Labels string
	// Text encodes the transcripts; Spec describes every extractor.
	Text *text.LexiconEncoder
	// Spec is the feature spec stored in the dataset.
	Spec features.Spec
	// Vision configures the vision extractor: its model paths are
	// required (vision.DefaultConfig gives those of the assets folder).
	Vision vision.Config
	// FPS is the frame rate the video is sampled at. Default 15.
	FPS float64
	// Progress is called after each clip with the count done and the total.
	Progress func(done, total int)
	// Report receives the clips that were skipped, with the reason.
	Report func(clip string, err error)
}

// clip is one transcript line with its labels.
type clip struct {
	ID         string     `json:"clip_id"`
	Start, End float64    `json:"-"`
	Text       string     `json:"text"`
	label      [4]float32 // M, T, A, V
	mode       string
}

// Result summarises a run.
type Result struct {
	// Clips is the number of clips written; Skipped the number skipped.
	Clips, Skipped int
	// Lengths are the padded lengths of audio and vision, by the MMSA rule.
	AudioLen, VisionLen int
}

// Run extracts every clip and writes the dataset to out.
func Run(ctx context.Context, cfg Config, out string) (Result, error) {
	if cfg.FPS == 0 {
		cfg.FPS = 15
	}
	clips, err := readTranscripts(cfg.Transcripts)
	if err != nil {
		return Result{}, err
	}
	if cfg.Labels != "" {
		if err := readLabels(cfg.Labels, clips); err != nil {
			return Result{}, err
		}
	} else {
		for _, c := range clips {
			c.mode = "test"
		}
	}
	ax, err := audio.NewExtractor(audio.Config{})
	if err != nil {
		return Result{}, err
	}
	vx, err := vision.New(cfg.Vision)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = vx.Close() }()

	type rows struct {
		c             *clip
		audio, vision [][]float32
	}
	var done []rows
	var res Result
	for i, c := range clips {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		a, v, err := clipFeatures(ctx, cfg, c, ax, vx)
		if err != nil {
			res.Skipped++
			if cfg.Report != nil {
				cfg.Report(c.ID, err)
			}
		} else {
			done = append(done, rows{c, a, v})
		}
		if cfg.Progress != nil {
			cfg.Progress(i+1, len(clips))
		}
	}
	if len(done) == 0 {
		return res, errors.New("extract: no clip could be read")
	}
	var alens, vlens []int
	for _, r := range done {
		alens, vlens = append(alens, len(r.audio)), append(vlens, len(r.vision))
	}
	res.AudioLen, res.VisionLen = mmsaLength(alens), mmsaLength(vlens)
	res.Clips = len(done)

	d := &mmsa.Dataset{Splits: map[string]*mmsa.Split{}}
	if d.FeatureSpec, err = json.Marshal(cfg.Spec); err != nil {
		return res, err
	}
	tl, td := cfg.Text.MaxLen(), cfg.Text.Dim()
	ad, vd := ax.Spec().Dims(), vision.Dims
	for _, r := range done {
		s := d.Splits[r.c.mode]
		if s == nil {
			s = &mmsa.Split{}
			s.Text, s.TextBERT = mmsa.Tensor3{L: tl, D: td}, mmsa.Tensor3{L: 3, D: tl}
			s.Audio, s.Vision = mmsa.Tensor3{L: res.AudioLen, D: ad}, mmsa.Tensor3{L: res.VisionLen, D: vd}
			d.Splits[r.c.mode] = s
		}
		s.IDs, s.RawText = append(s.IDs, r.c.ID), append(s.RawText, r.c.Text)
		tf := make([]float32, tl*td)
		if err := cfg.Text.EncodeTo(tf, r.c.Text); err != nil {
			return res, fmt.Errorf("extract: clip %s text: %w", r.c.ID, err)
		}
		appendRows(&s.Text, tf)
		appendRows(&s.TextBERT, tokenRows(cfg.Text, r.c.Text))
		s.AudioLengths = append(s.AudioLengths, min(len(r.audio), res.AudioLen))
		s.VisionLengths = append(s.VisionLengths, min(len(r.vision), res.VisionLen))
		appendRows(&s.Audio, padRows(r.audio, res.AudioLen, ad))
		appendRows(&s.Vision, padRows(r.vision, res.VisionLen, vd))
		s.Regression = append(s.Regression, r.c.label[0])
		if cfg.Labels != "" {
			s.RegressionT = append(s.RegressionT, r.c.label[1])
			s.RegressionA = append(s.RegressionA, r.c.label[2])
			s.RegressionV = append(s.RegressionV, r.c.label[3])
		}
	}
	return res, mmsa.Write(out, d)
}

func appendRows(t *mmsa.Tensor3, rows []float32) {
	t.Data = append(t.Data, rows...)
	t.N++
}

// tokenRows is the clip's text_bert entry: ids, mask and token types.
func tokenRows(enc *text.LexiconEncoder, s string) []float32 {
	tok := enc.Tokenizer()
	e := tok.Encode(s)
	out := make([]float32, 0, 3*len(e.InputIDs))
	for _, row := range [][]int64{e.InputIDs, e.AttentionMask, e.TokenTypeIDs} {
		for _, v := range row {
			out = append(out, float32(v))
		}
	}
	return out
}

// mmsaLength is the padded length MMSA's DataPre.py uses: the mean plus
// three standard deviations of the lengths, truncated, at least 1.
func mmsaLength(lens []int) int {
	var mean, sq float64
	for _, l := range lens {
		mean += float64(l)
	}
	mean /= float64(len(lens))
	for _, l := range lens {
		sq += (float64(l) - mean) * (float64(l) - mean)
	}
	return max(1, int(mean+3*math.Sqrt(sq/float64(len(lens)))))
}

// padRows lays rows out in n rows of width d: truncated at the end, or
// zero-padded at the end (the MMSA layout).
func padRows(rows [][]float32, n, d int) []float32 {
	out := make([]float32, n*d)
	for i, r := range rows[:min(len(rows), n)] {
		copy(out[i*d:], r)
	}
	return out
}

// clipFeatures extracts the audio and vision rows of one clip.
func clipFeatures(ctx context.Context, cfg Config, c *clip, ax *audio.Extractor, vx *vision.Extractor) (a, v [][]float32, err error) {
	videoPath := findVideo(cfg.Media, c.ID)
	y, rate, err := clipAudio(ctx, cfg.Media, c.ID, videoPath)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := int(c.Start*float64(rate)), int(math.Ceil(c.End*float64(rate)))
	lo, hi = max(0, min(lo, len(y))), max(0, min(hi, len(y)))
	if hi <= lo {
		return nil, nil, fmt.Errorf("extract: clip %s: no audio in [%gs, %gs]", c.ID, c.Start, c.End)
	}
	f, err := ax.Extract(y[lo:hi], rate)
	if err != nil {
		return nil, nil, fmt.Errorf("extract: clip %s audio: %w", c.ID, err)
	}
	for t := range f.Frames {
		a = append(a, append([]float32(nil), f.Row(t)...))
	}
	if videoPath == "" {
		return a, nil, nil
	}
	_, err = video.ReadFile(ctx, videoPath, video.Config{Device: videoPath, FPS: cfg.FPS, Width: 320, Height: 240}, func(fr video.Frame) error {
		sec := fr.Time.Seconds()
		if sec < c.Start || sec >= c.End || !vision.Sampled(fr.Index) {
			return nil
		}
		row := make([]float32, vision.Dims)
		if err := vx.Extract(fr.Pix, fr.Width, fr.Height, row); err != nil {
			return err
		}
		v = append(v, row)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("extract: clip %s video %s: %w", c.ID, videoPath, err)
	}
	return a, v, nil
}

// videoExts are the video containers looked for, in order.
var videoExts = []string{".mp4", ".avi", ".mkv", ".mov", ".webm"}

func findVideo(dir, id string) string {
	for _, ext := range videoExts {
		p := filepath.Join(dir, id+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// clipAudio reads <id>.wav, or the audio track of the video, with the live
// file source (ingest/media: WAV directly, anything else through ffmpeg),
// as fast as it decodes.
func clipAudio(ctx context.Context, dir, id, videoPath string) ([]float32, int, error) {
	path := filepath.Join(dir, id+".wav")
	if _, err := os.Stat(path); err != nil {
		if videoPath == "" {
			return nil, 0, fmt.Errorf("extract: clip %s: no %s.wav and no video in %s", id, id, dir)
		}
		path = videoPath
	}
	src, err := media.Open(media.Config{Path: path})
	if err != nil {
		return nil, 0, fmt.Errorf("extract: clip %s: %w", id, err)
	}
	defer func() { _ = src.Close() }() // a decoder that only read
	var y []float32
	rate := 0
	for {
		c, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			return y, rate, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("extract: clip %s: reading the audio of %s: %w", id, path, err)
		}
		y, rate = append(y, c.Samples...), c.SampleRate
	}
}

// readTranscripts reads the clips of a transcript JSONL file.
func readTranscripts(path string) ([]*clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	var clips []*clip
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec struct {
			ID    *string  `json:"clip_id"`
			Start *float64 `json:"start"`
			End   *float64 `json:"end"`
			Text  *string  `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("extract: %s:%d: %w", path, n, err)
		}
		switch {
		case rec.ID == nil || *rec.ID == "":
			return nil, fmt.Errorf("extract: %s:%d: missing field \"clip_id\"", path, n)
		case rec.Start == nil || rec.End == nil:
			return nil, fmt.Errorf("extract: %s:%d: missing field \"start\" or \"end\"", path, n)
		case rec.Text == nil:
			return nil, fmt.Errorf("extract: %s:%d: missing field \"text\"", path, n)
		case *rec.End <= *rec.Start || *rec.Start < 0:
			return nil, fmt.Errorf("extract: %s:%d: end %g is not after start %g", path, n, *rec.End, *rec.Start)
		case seen[*rec.ID]:
			return nil, fmt.Errorf("extract: %s:%d: clip %q appears twice", path, n, *rec.ID)
		}
		seen[*rec.ID] = true
		clips = append(clips, &clip{ID: *rec.ID, Start: *rec.Start, End: *rec.End, Text: *rec.Text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("extract: %s: %w", path, err)
	}
	return clips, nil
}

// readLabels fills the clips' labels and splits from a CH-SIMS label CSV.
func readLabels(path string, clips []*clip) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("extract: %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"clip_id", "label", "label_T", "label_A", "label_V", "mode"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("extract: %s: no column %q", path, need)
		}
	}
	byID := map[string][]string{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("extract: %s: %w", path, err)
		}
		byID[rec[col["clip_id"]]] = rec
	}
	for _, c := range clips {
		rec, ok := byID[c.ID]
		if !ok {
			return fmt.Errorf("extract: %s: no labels for clip %q", path, c.ID)
		}
		for k, name := range []string{"label", "label_T", "label_A", "label_V"} {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[col[name]]), 32)
			if err != nil {
				return fmt.Errorf("extract: %s: clip %q: %s: %w", path, c.ID, name, err)
			}
			c.label[k] = float32(v)
		}
		switch c.mode = strings.TrimSpace(rec[col["mode"]]); c.mode {
		case "train", "valid", "test":
		default:
			return fmt.Errorf("extract: %s: clip %q: mode %q is not train, valid or test", path, c.ID, c.mode)
		}
	}
	return nil
}
