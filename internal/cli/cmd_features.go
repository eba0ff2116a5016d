package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

func init() {
	commands["features"] = command{
		summary: "print or save the features of one file: features audio|vision|text",
		run:     runFeatures,
	}
}

// featureKinds maps "cmc-stream features <kind>" to its implementation.
var featureKinds = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"audio":  featuresAudio,
	"vision": featuresVision,
	"text":   featuresText,
}

func runFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || featureKinds[args[0]] == nil {
		return fmt.Errorf("%w: features needs a kind: audio, vision or text", errUsage)
	}
	return featureKinds[args[0]](ctx, args[1:], stdout, stderr)
}

// frameFeatures is the --json output of audio and vision features.
type frameFeatures struct {
	Columns []string    `json:"columns"`
	HopS    float64     `json:"hop_s"`
	Frames  [][]float32 `json:"frames"`
}

func featuresAudio(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features audio", stderr)
	input := fs.String("input", "", "audio `file` (WAV: PCM 8/16/24/32-bit or float 32-bit, 8 to 192 kHz, any channel count)")
	asJSON := fs.Bool("json", false, `print {"columns","hop_s","frames"} as JSON`)
	out := fs.String("out", "", "write tensor \"features\" [frames, columns] to this safetensors `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *input == "" || (*asJSON == (*out != "")) {
		return fmt.Errorf("%w: --input and exactly one of --json or --out are required", errUsage)
	}
	samples, rate, err := audio.ReadWAV(*input)
	if err != nil {
		return err
	}
	ex, err := audio.NewExtractor(audio.Config{})
	if err != nil {
		return err
	}
	var f *audio.Features
	err = untilDone(ctx, func() (err error) {
		f, err = ex.Extract(samples, rate)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", *input, err)
	}
	rows := make([][]float32, f.Frames)
	for t := range f.Frames {
		rows[t] = f.Row(t)
	}
	return writeFrames(stdout, *out, ex.Spec(), f.Columns, f.HopSeconds, rows)
}

// writeFrames prints per-frame features as JSON, or writes them to a
// safetensors file when out is set.
func writeFrames(stdout io.Writer, out string, spec any, columns []string, hop float64, rows [][]float32) error {
	if out == "" {
		return json.NewEncoder(stdout).Encode(frameFeatures{Columns: columns, HopS: hop, Frames: rows})
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	data := make([]float32, 0, len(rows)*len(columns))
	for _, r := range rows {
		data = append(data, r...)
	}
	return safetensors.WriteFile(out, &safetensors.File{
		Tensors:  map[string]*safetensors.Tensor{"features": {Shape: []int{len(rows), len(columns)}, Data: data}},
		Metadata: map[string]string{"columns": strings.Join(columns, ","), "hop_s": fmt.Sprint(hop), "spec": string(specJSON)},
	})
}

func featuresVision(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features vision", stderr)
	input := fs.String("input", "", "video `file` (or an image sequence pattern OpenCV reads)")
	asJSON := fs.Bool("json", false, `print {"columns","hop_s","frames"} as JSON`)
	out := fs.String("out", "", "write tensor \"features\" [frames, columns] to this safetensors `file`")
	fps := fs.Float64("fps", 15, "frames per second to sample")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *input == "" || (*asJSON == (*out != "")) {
		return fmt.Errorf("%w: --input and exactly one of --json or --out are required", errUsage)
	}
	paths, stop, err := native{onnx: true}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ex, err := vision.New(vision.DefaultConfig(paths.AssetsDir))
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	var rows [][]float32
	_, err = video.ReadFile(ctx, *input, video.Config{Device: *input, FPS: *fps, Width: 320, Height: 240}, func(f video.Frame) error {
		row := make([]float32, vision.Dims)
		if err := ex.Extract(f.Pix, f.Width, f.Height, row); err != nil {
			return fmt.Errorf("frame %d: %w", f.Index, err)
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", *input, err)
	}
	return writeFrames(stdout, *out, ex.Spec(), ex.Columns(), 1 / *fps, rows)
}

// textRecord is one line of "features text" output.
type textRecord struct {
	Text          string   `json:"text"`
	InputIDs      []int64  `json:"input_ids"`
	AttentionMask []int64  `json:"attention_mask"`
	TokenTypeIDs  []int64  `json:"token_type_ids"`
	Tokens        []string `json:"tokens"`
}

func featuresText(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features text", stderr)
	input := fs.String("input", "", "UTF-8 `file`: one sentence per line, or JSONL with a \"text\" field when the name ends in .jsonl")
	vocab := fs.String("vocab", "", "BERT vocab.txt `file`")
	maxLen := fs.Int("max-len", text.DefaultMaxLen, "sequence length with [CLS] and [SEP]")
	cased := fs.Bool("cased", false, "keep case and accents (default: lower-case and strip accents)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *input == "" || *vocab == "" {
		return fmt.Errorf("%w: --input and --vocab are required", errUsage)
	}
	v, err := text.LoadVocab(*vocab)
	if err != nil {
		return err
	}
	tok, err := text.NewTokenizer(v, text.Options{LowerCase: !*cased, MaxLen: *maxLen})
	if err != nil {
		return err
	}
	texts, err := readTexts(*input)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	for _, s := range texts {
		e := tok.Encode(s)
		if err := enc.Encode(textRecord{Text: s, InputIDs: e.InputIDs, AttentionMask: e.AttentionMask, TokenTypeIDs: e.TokenTypeIDs, Tokens: e.Tokens}); err != nil {
			return err
		}
	}
	return w.Flush()
}

// readTexts reads one text per line, or the "text" field of each JSONL
// record when path ends in .jsonl. Errors name the file and line.
func readTexts(path string) ([]string, error) {
	jsonl := strings.HasSuffix(path, ".jsonl")
	var texts []string
	err := scanLines(path, func(line string) error {
		if !utf8.ValidString(line) {
			return errors.New("invalid UTF-8")
		}
		if !jsonl {
			texts = append(texts, line)
			return nil
		}
		if strings.TrimSpace(line) == "" {
			return nil
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return err
		}
		if rec.Text == nil {
			return errors.New("missing field \"text\"")
		}
		texts = append(texts, *rec.Text)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return texts, nil
}

// scanLines calls fn with each line of the file at path (lines of up to
// 16 MiB, without their line ending). An error of fn stops the scan and is
// returned as "PATH:LINE: error"; a read error as "PATH: error".
func scanLines(path string, fn func(line string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
