package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/features"
	"github.com/cmc-stream/cmc-stream/features/audio"
	"github.com/cmc-stream/cmc-stream/features/text"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

func writeSineWAV(t *testing.T, path string, freq float64, seconds float64) []float32 {
	t.Helper()
	const rate = 16000
	n := int(seconds * rate)
	y := make([]float32, n)
	var b bytes.Buffer
	le := func(v uint32, k int) {
		for i := range k {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	b.WriteString("RIFF")
	le(uint32(36+2*n), 4)
	b.WriteString("WAVEfmt ")
	le(16, 4)
	le(1, 2)
	le(1, 2)
	le(rate, 4)
	le(2*rate, 4)
	le(2, 2)
	le(16, 2)
	b.WriteString("data")
	le(uint32(2*n), 4)
	for i := range y {
		s := int16(math.Round(0.4 * math.Sin(2*math.Pi*freq*float64(i)/rate) * 32767))
		y[i] = float32(s) / 32768
		le(uint32(uint16(s)), 2)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestRun extracts three clips (a test video and a sine per clip), and
// checks the dataset's layout, the MMSA padding rule, the token ids and
// that the audio rows are the extractor's own output for the clip's span.
func TestRun(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make setup installs it)")
	}
	dir := t.TempDir()
	var waves [][]float32
	for i, id := range []string{"a", "b", "c"} {
		waves = append(waves, writeSineWAV(t, filepath.Join(dir, id+".wav"), 220*float64(i+1), 1+0.5*float64(i)))
		if out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
			"-t", "2", "-pix_fmt", "yuv420p", filepath.Join(dir, id+".mp4")).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, out)
		}
	}
	tr := filepath.Join(dir, "t.jsonl")
	os.WriteFile(tr, []byte(`{"clip_id":"a","start":0,"end":1,"text":"I love it"}
{"clip_id":"b","start":0.5,"end":1.5,"text":"terrible service"}
{"clip_id":"c","start":0,"end":2,"text":"it is a table"}
`), 0o644)
	labels := filepath.Join(dir, "l.csv")
	os.WriteFile(labels, []byte("video_id,clip_id,text,label,label_T,label_A,label_V,mode\nv,a,x,1,1,0,1,train\nv,b,x,-1,-1,-1,0,valid\nv,c,x,0,0,0,0,test\n"), 0o644)
	v, _ := text.BuiltinVocab("en")
	tok, _ := text.NewTokenizer(v, text.Options{LowerCase: true, MaxLen: 8})
	enc, err := text.NewLexiconEncoder(tok, text.LexiconConfig{})
	if err != nil {
		t.Fatal(err)
	}
	spec := features.Spec{}
	spec.Set(features.Text, map[string]any{"name": "test"})
	out := filepath.Join(dir, "d.pkl")
	var skipped []string
	res, err := Run(context.Background(), Config{Media: dir, Transcripts: tr, Labels: labels, Text: enc, Spec: spec, Vision: vision.DefaultConfig(testNative.AssetsDir),
		Report: func(c string, err error) { skipped = append(skipped, c+": "+err.Error()) }}, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Clips != 3 || len(skipped) != 0 {
		t.Fatalf("result %+v, skipped %v", res, skipped)
	}
	d, err := mmsa.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var got features.Spec
	if err := json.Unmarshal(d.FeatureSpec, &got); err != nil || string(got[features.Text]) != `{"name":"test"}` {
		t.Errorf("feature spec %s", d.FeatureSpec)
	}
	// Audio frames per clip: 1 + n/512 at 22050 Hz for 1, 1 and 2 s.
	frames := []int{1 + 22050/512, 1 + 22050/512, 1 + 44100/512}
	if want := mmsaLength(frames); res.AudioLen != want {
		t.Errorf("audio length %d, want %d", res.AudioLen, want)
	}
	ax, _ := audio.NewExtractor(audio.Config{})
	for name, want := range map[string]struct {
		id    string
		label float32
		lo    int
		hi    int
		wave  int
	}{"train": {"a", 1, 0, 16000, 0}, "valid": {"b", -1, 8000, 24000, 1}, "test": {"c", 0, 0, 32000, 2}} {
		s := d.Splits[name]
		if s == nil || s.Len() != 1 || s.IDs[0] != want.id || s.Regression[0] != want.label {
			t.Fatalf("split %s: %+v", name, s)
		}
		if s.Text.D != enc.Dim() || s.Text.L != 8 || s.Vision.D != vision.Dims || s.Vision.L != res.VisionLen || s.Audio.L != res.AudioLen {
			t.Errorf("split %s shapes text %dx%d audio %dx%d vision %dx%d", name, s.Text.L, s.Text.D, s.Audio.L, s.Audio.D, s.Vision.L, s.Vision.D)
		}
		ids := tok.Encode(s.RawText[0]).InputIDs
		for i, id := range ids {
			if s.TextBERT.Data[i] != float32(id) {
				t.Fatalf("split %s text_bert ids %v, want %v", name, s.TextBERT.Data[:8], ids)
			}
		}
		f, _ := ax.Extract(waves[want.wave][want.lo:want.hi], 16000)
		for r := range min(f.Frames, res.AudioLen) {
			for c, x := range f.Row(r) {
				if s.Audio.Data[r*s.Audio.D+c] != x {
					t.Fatalf("split %s audio frame %d col %d differs", name, r, c)
				}
			}
		}
		// One frame in 3 (vision.FrameStep) of a 1-2 s span at 15 fps.
		if vl := s.VisionLengths[0]; vl < 4 || vl > 11 {
			t.Errorf("split %s: %d vision frames for a 1-2 s span at 5 of 15 fps", name, vl)
		}
	}

	// A clip without media is reported and skipped, the others kept.
	os.WriteFile(tr, []byte(`{"clip_id":"a","start":0,"end":1,"text":"x"}
{"clip_id":"zz","start":0,"end":1,"text":"y"}
`), 0o644)
	skipped = nil
	res, err = Run(context.Background(), Config{Media: dir, Transcripts: tr, Text: enc, Spec: spec, Vision: vision.DefaultConfig(testNative.AssetsDir),
		Report: func(c string, err error) { skipped = append(skipped, c+": "+err.Error()) }}, out)
	if err != nil || res.Clips != 1 || len(skipped) != 1 || !strings.Contains(skipped[0], "zz") {
		t.Errorf("missing media: %+v %v %v", res, skipped, err)
	}
	// Malformed transcript lines name the file and line.
	os.WriteFile(tr, []byte(`{"clip_id":"a","start":1,"end":0.5,"text":"x"}`+"\n"), 0o644)
	if _, err := Run(context.Background(), Config{Media: dir, Transcripts: tr, Text: enc, Spec: spec}, out); err == nil || !strings.Contains(err.Error(), "t.jsonl:1: end 0.5 is not after start 1") {
		t.Errorf("bad transcript: %v", err)
	}
}
