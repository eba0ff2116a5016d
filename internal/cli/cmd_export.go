package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/onnxexport"
)

func init() {
	commands["export"] = command{
		summary: "write a model bundle's forward pass as an ONNX graph (--onnx)",
		run:     runExport,
	}
}

func runExport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	dir := fs.String("model", "", "model bundle `directory` (model.json + weights.safetensors)")
	out := fs.String("onnx", "", "ONNX `file` to write (opset 17; inputs text, audio, vision [batch, len, dim]; outputs logits, expert_logits, router, embeddings, similarity)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *out == "" {
		return fmt.Errorf("%w: --model and --onnx are required", errUsage)
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	raw, err := onnxexport.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "wrote %s (%d bytes, ONNX opset %d): %s %s, %d layers, lengths text %d, audio %d, vision %d\n",
		*out, len(raw), onnxexport.Opset, m.Config.Name, m.Config.Version, m.Config.Layers,
		m.Config.Lengths.Text, m.Config.Lengths.Audio, m.Config.Lengths.Vision)
	return err
}
