package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
	"github.com/cmc-stream/cmc-stream/model"
)

// writeWAV writes mono float32 samples as a 16-bit PCM WAV file.
func writeWAV(t *testing.T, path string, y []float32, rate int) {
	t.Helper()
	var b bytes.Buffer
	le := func(v uint32, n int) {
		for i := range n {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	b.WriteString("RIFF")
	le(uint32(36+2*len(y)), 4)
	b.WriteString("WAVEfmt ")
	le(16, 4)
	le(1, 2)
	le(1, 2)
	le(uint32(rate), 4)
	le(uint32(2*rate), 4)
	le(2, 2)
	le(16, 2)
	b.WriteString("data")
	le(uint32(2*len(y)), 4)
	for _, v := range y {
		le(uint32(uint16(int16(math.Round(float64(max(-1, min(1, v)))*32767)))), 2)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAppFiles runs the whole pipeline on files: a test video (real gocv
// capture and the vision extractor through ONNX Runtime), a speech WAV and
// a JSONL transcript, and checks one valid event per utterance, in order.
func TestAppFiles(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make setup installs it)")
	}
	dir := t.TempDir()
	vid := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "3", "-pix_fmt", "yuv420p", vid).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	wav := filepath.Join(dir, "clip.wav")
	writeWAV(t, wav, speech16k(t), 16000)
	tr := filepath.Join(dir, "clip.jsonl")
	os.WriteFile(tr, []byte(`{"stream_id":"clip","speaker":"customer","start":0.2,"end":1.4,"text":"he was not an ill","final":true}
{"stream_id":"clip","speaker":"customer","start":1.5,"end":2.9,"text":"disposed young man, great!","final":true}
`), 0o644)

	bundle := saveBundle(t, model.PerModality{Audio: 34, Vision: vision.Dims}, 9)
	cfgYAML := `
model: {bundle: ` + bundle + `}
text: {max_len: 24}
sources:
  video: [{stream_id: clip, device: ` + vid + `, fps: 15, realtime: false}]
  audio: [{stream_id: clip, file: ` + wav + `, realtime: false}]
  transcripts: {file: ` + tr + `}
window: {policy: utterance, max_wait: 10s}
sinks: {stdout: {format: jsonl}}
observability: {listen: disabled}
` + testAssetsYAML
	cfg, err := DecodeConfig([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	app, err := Build(cfg, Options{Stdout: &out, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := app.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	var sums []event.CallSummary
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// Every real record against its JSON Schema file.
		if err := schematest.ValidateJSON(sc.Bytes()); err != nil {
			t.Error(err)
		}
		if strings.Contains(sc.Text(), `"schema":"`+event.CallSummarySchema+`"`) {
			var s event.CallSummary
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			sums = append(sums, s)
			continue
		}
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if err := e.Validate(); err != nil {
			t.Error(err)
		}
		evs = append(evs, e)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2:\n%s", len(evs), out.String())
	}
	// The file ended: one summary of the stream, after its events, with
	// both windows of the one speaker.
	if len(sums) != 1 || sums[0].StreamID != "clip" || sums[0].Reason != event.EndOfInput || sums[0].Windows != 2 ||
		len(sums[0].Speakers) != 1 || sums[0].Speakers[0].Speaker != "customer" || !sums[0].Start.Equal(evs[0].Window.Start) {
		t.Errorf("summaries %+v", sums)
	}
	for i, e := range evs {
		if want := "clip/utt/" + string(rune('0'+i)); e.EventID != want {
			t.Errorf("event %d id %q, want %q", i, e.EventID, want)
		}
		if !e.Modalities.Text.Present || !e.Modalities.Audio.Present || !e.Modalities.Vision.Present {
			t.Errorf("event %d modalities %+v", i, e.Modalities.Present())
		}
		if !strings.Contains(e.Transcript, []string{"ill", "young"}[i]) {
			t.Errorf("event %d transcript %q", i, e.Transcript)
		}
	}
	// The metrics of /metrics: the score stage's latency histogram counted
	// both windows; the vision stage's, the 15 frames that the vision
	// recipe samples (one in 3) of the 45 of the 3 s clip at 15 frames/s (a
	// file played not in real time drops none).
	metrics := metricsText(t, app.metrics)
	for _, want := range []string{`cmc_stage_latency_seconds_count{stage="score"} 2`, `cmc_stage_items_total{stage="score"} 2`, "cmc_events_total 2",
		`cmc_stage_latency_seconds_count{stage="vision"} 15`, `cmc_stage_items_total{stage="vision"} 15`, `cmc_stage_queue_depth{stage="vision"} 0`,
		"cmc_insight_summaries_total 1", "cmc_insight_alerts_total 0", "cmc_insight_publish_failed_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	s := app.Summary()
	if s.Windows != 2 || s.Events != 2 {
		t.Errorf("summary %v", s)
	}
}
