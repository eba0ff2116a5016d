package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/wav"
	"github.com/cmc-stream/cmc-stream/internal/wav/wavtest"
)

// TestCommandsStopOnSignal runs the batch commands with the context a
// SIGINT or SIGTERM cancels (main's signal.NotifyContext) already
// cancelled: each stops with status 130 saying so, prints nothing on
// standard output and writes no output file.
func TestCommandsStopOnSignal(t *testing.T) {
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	frames := make([][]float64, 16000)
	for i := range frames {
		frames[i] = []float64{float64(i%100) / 100}
	}
	if err := os.WriteFile(speech, wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: 16000}, frames), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, f := fixtureBundle(t)
	features := writeFeatures(t, fixtureFeatures(f))
	out := filepath.Join(dir, "out")
	tests := [][]string{
		{"features", "audio", "--input", speech, "--json"},
		{"infer", "--model", bundle, "--input", features},
		{"eval", "--model", "../../demo/model", "--data", "../../testdata/mmsa/tiny_sims.pkl"},
		{"train", "--data", "../../testdata/mmsa/tiny_sims.pkl", "--preset", "sims", "--out", out, "--max-epochs", "1"},
		{"extract", "--media", "../../demo/media", "--transcripts", "../../demo/transcripts.jsonl", "--out", out + ".pkl"},
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(ctx, args, &stdout, &stderr)
			if code != exitInterrupted || !strings.Contains(stderr.String(), "stopped by a signal") {
				t.Errorf("exit %d, stderr %q; want %d and the reason", code, stderr.String(), exitInterrupted)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			for _, p := range []string{out, out + ".pkl"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s written", p)
				}
			}
		})
	}
}
