package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TestCorruptVideoFrames plays an MJPEG file in which two stretches of
// frames were overwritten with garbage, with a transcript of two
// utterances. The decoder skips the frames it cannot read (counted in the
// drops) or conceals the damage; either way the run ends normally with one
// event per utterance.
func TestCorruptVideoFrames(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make setup installs it)")
	}
	dir := t.TempDir()
	vid := filepath.Join(dir, "clip.avi")
	if out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "3",
		"-c:v", "mjpeg", "-q:v", "5", vid).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(vid)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []float64{0.35, 0.65} {
		i := int(at * float64(len(raw)))
		for j := i; j < i+6000 && j < len(raw); j++ {
			raw[j] = byte(j * 31)
		}
	}
	if err := os.WriteFile(vid, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(dir, "clip.jsonl")
	if err := os.WriteFile(tr, []byte(`{"stream_id":"clip","start":0.2,"end":1.4,"text":"fine so far","final":true}
{"stream_id":"clip","start":1.5,"end":2.9,"text":"still fine","final":true}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig([]byte(`
model: {bundle: ` + textBundle(t) + `}
text: {max_len: 24}
sources:
  video: [{stream_id: clip, device: ` + vid + `, fps: 15, realtime: false}]
  transcripts: {file: ` + tr + `}
window: {policy: utterance, max_wait: 2s}
sinks: {stdout: {}}
observability: {listen: disabled}
` + testAssetsYAML))
	if err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	var log syncWriter
	log.w = &bytes.Buffer{}
	opts := Options{Extra: []pipeline.Sink[event.Event]{got}, Logger: testLogger(&log)}
	app, err := Build(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := app.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(got.events()); n != 2 {
		t.Fatalf("%d events, want 2; summary %v\n%s", n, app.Summary(), log.String())
	}
	// Frames outside the utterances are drops the aligner counts, not
	// failures.
	if s := app.Summary(); s.Failed != 0 {
		t.Errorf("summary %v, want no failed items", s)
	}
	t.Logf("summary %v", app.Summary())
}
