package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

func init() {
	commands["infer"] = command{
		summary: "run a model bundle on a features file (safetensors text/audio/vision)",
		run:     runInfer,
	}
}

// inferRecord is one line of "cmc-stream infer" output.
type inferRecord struct {
	Index        int                                   `json:"index"`
	Label        string                                `json:"label"`
	Logits       []float32                             `json:"logits"`
	Probs        map[string]float32                    `json:"probs"`
	ExpertLogits map[string][]float32                  `json:"expert_logits"`
	Router       []float32                             `json:"router"`
	Similarity   [model.Experts][model.Experts]float32 `json:"similarity"`
	Embeddings   map[string][]float32                  `json:"embeddings"`
}

// inferBatch is how many samples one forward pass takes.
const inferBatch = 64

func runInfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("infer", stderr)
	dir := fs.String("model", "", "model bundle `directory` (model.json + weights.safetensors)")
	input := fs.String("input", "", "features `file` (safetensors with float32 text [B,Lt,Dt], audio [B,La,Da], vision [B,Lv,Dv])")
	threads := fs.Int("threads", 2, "goroutines per batch")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *input == "" {
		return fmt.Errorf("%w: --model and --input are required", errUsage)
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	f, err := safetensors.ReadFile(*input)
	if err != nil {
		return err
	}
	x, err := featuresInput(f, m, *input)
	if err != nil {
		return err
	}
	if err := m.CheckInput(x); err != nil {
		return fmt.Errorf("%s: %w", *input, err)
	}
	records, err := infer(ctx, m, x, *threads)
	if err != nil {
		return err
	}
	// Print only once everything succeeded, so a failure prints nothing.
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	for i := range records {
		if err := enc.Encode(&records[i]); err != nil {
			return err
		}
	}
	return w.Flush()
}

// featuresInput takes the text, audio and vision tensors of a features file.
// Every sequence has at least one time step of at least one feature, so the
// batch is bounded by the file's size (a batch of 2^31-1 empty sequences is
// refused before anything is allocated for it).
func featuresInput(f *safetensors.File, m *model.Model, path string) (*model.Input, error) {
	var x model.Input
	for _, mod := range model.Modalities {
		name := mod.String()
		want := fmt.Sprintf("[B,<=%d,%d] with at least one step", m.Config.Lengths.Get(mod), m.Config.Dims.Get(mod))
		t, ok := f.Tensors[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: tensor %q is missing (want float32 %s)", path, name, want)
		case t.DType != "F32":
			return nil, fmt.Errorf("%s: tensor %q has dtype %s, want float32 %s", path, name, t.DType, want)
		case len(t.Shape) != 3 || t.Shape[1] < 1 || t.Shape[2] < 1:
			return nil, fmt.Errorf("%s: tensor %q has shape %v, want %s", path, name, t.Shape, want)
		}
		x[mod] = model.Sequence{Batch: t.Shape[0], Len: t.Shape[1], Dim: t.Shape[2], Data: t.Data}
	}
	return &x, nil
}

// infer runs the model over x in batches, until ctx is done, and returns one
// record per sample.
func infer(ctx context.Context, m *model.Model, x *model.Input, threads int) ([]inferRecord, error) {
	n := x[model.Text].Batch
	run := model.NewInferencer(m, model.Options{Threads: threads})
	var out model.Output
	records := make([]inferRecord, 0, n)
	for lo := 0; lo < n; lo += inferBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+inferBatch, n)
		var part model.Input
		for _, mod := range model.Modalities {
			s := x[mod]
			row := s.Len * s.Dim
			part[mod] = model.Sequence{Batch: hi - lo, Len: s.Len, Dim: s.Dim, Data: s.Data[lo*row : hi*row]}
		}
		if err := run.Forward(&part, &out); err != nil {
			return nil, err
		}
		for b := range hi - lo {
			records = append(records, newInferRecord(&out, b, lo+b, m.Config.EmbedDim))
		}
	}
	return records, nil
}

func newInferRecord(out *model.Output, b, index, e int) inferRecord {
	c := model.Classes
	logits := out.Logits[b*c : (b+1)*c]
	probs := out.Probs(b)
	r := inferRecord{
		Index:        index,
		Label:        model.Labels[model.Argmax(logits)],
		Logits:       append([]float32{}, logits...),
		Probs:        map[string]float32{},
		ExpertLogits: map[string][]float32{},
		Router:       append([]float32{}, out.Router[b*model.Experts:(b+1)*model.Experts]...),
		Embeddings:   map[string][]float32{},
	}
	for i, l := range model.Labels {
		r.Probs[l] = probs[i]
	}
	for _, mod := range model.Modalities {
		r.ExpertLogits[mod.String()] = append([]float32{}, out.ExpertLogits[mod][b*c:(b+1)*c]...)
		r.Embeddings[mod.String()] = append([]float32{}, out.Embeddings[mod][b*e:(b+1)*e]...)
		for j := range model.Experts {
			r.Similarity[mod][j] = out.Similarity[(b*model.Experts+int(mod))*model.Experts+j]
		}
	}
	return r
}
