package cli

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model/safetensors"
)

// TestFeaturesText checks the command against the HuggingFace tokenizer
// goldens (testdata/bert-tokenizer): the uncased English records at length 50.
func TestFeaturesText(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/bert-tokenizer/bert_tok_shared.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	type golden struct {
		Text      string  `json:"text"`
		Group     string  `json:"group"`
		Vocab     string  `json:"vocab"`
		Lower     bool    `json:"do_lower_case"`
		MaxLen    int     `json:"max_len"`
		InputIDs  []int64 `json:"input_ids"`
		Attention []int64 `json:"attention_mask"`
	}
	var cases []golden
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var g golden
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			t.Fatal(err)
		}
		if g.Group == "en" && g.Lower && g.MaxLen == 50 && strings.Contains(g.Vocab, "uncased") && len(cases) < 20 {
			cases = append(cases, g)
		}
	}
	if len(cases) == 0 {
		t.Fatal("no English goldens found")
	}
	in := filepath.Join(t.TempDir(), "texts.jsonl")
	f, _ := os.Create(in)
	for _, g := range cases {
		json.NewEncoder(f).Encode(map[string]string{"text": g.Text})
	}
	f.Close()
	code, stdout, stderr := runCLI("features", "text", "--input", in, "--vocab", "../../testdata/bert-tokenizer/bert-base-uncased-vocab.txt", "--max-len", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var r textRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		g := cases[i]
		if r.Text != g.Text || len(r.InputIDs) != 50 || len(r.Tokens) == 0 {
			t.Fatalf("record %d: %+v", i, r)
		}
		for j := range g.InputIDs {
			if r.InputIDs[j] != g.InputIDs[j] || r.AttentionMask[j] != g.Attention[j] {
				t.Fatalf("record %d (%q): ids %v, want %v", i, g.Text, r.InputIDs, g.InputIDs)
			}
		}
	}
	if i != len(cases) {
		t.Errorf("%d records, want %d", i, len(cases))
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"text\": \"ok\"}\n{\"txt\": 1}\n"), 0o644)
	if code, _, stderr := runCLI("features", "text", "--input", bad, "--vocab", "../../testdata/bert-tokenizer/bert-base-uncased-vocab.txt"); code == 0 || !strings.Contains(stderr, `bad.jsonl:2: missing field "text"`) {
		t.Errorf("bad JSONL: exit %d, %q", code, stderr)
	}
}

// TestFeaturesAudio writes the 22.05 kHz speech golden as a WAV file and
// checks the command's output against librosa's mmsa33 features
// (testdata/librosa/README.md: MFCC within 1e-3, ZCR exact, chroma within
// about 0.05 because librosa resamples CQT octaves with soxr).
func TestFeaturesAudio(t *testing.T) {
	g, err := safetensors.ReadFile("../../testdata/librosa/librosa_shared.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	y := g.Tensors["speech0880_sr22050/y"].Data
	want := g.Tensors["speech0880_sr22050/mmsa33"]
	wav := filepath.Join(t.TempDir(), "speech.wav")
	if err := os.WriteFile(wav, floatWAV(y, 22050), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("features", "audio", "--input", wav, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res frameFeatures
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Frames) != want.Shape[0] || res.Columns[0] != "zcr" || res.Columns[1] != "mfcc_1" || res.Columns[21] != "chroma_C" {
		t.Fatalf("%d frames (want %d), columns %v", len(res.Frames), want.Shape[0], res.Columns)
	}
	if math.Abs(res.HopS-512.0/22050) > 1e-12 {
		t.Errorf("hop_s %v", res.HopS)
	}
	for f, row := range res.Frames {
		for c := range 33 {
			tol := 1e-3
			if c >= 21 {
				tol = 0.05
			}
			if d := math.Abs(float64(row[c] - want.Data[f*33+c])); d > tol {
				t.Fatalf("frame %d column %s = %v, want %v", f, res.Columns[c], row[c], want.Data[f*33+c])
			}
		}
	}
	out := filepath.Join(t.TempDir(), "f.safetensors")
	if code, _, stderr := runCLI("features", "audio", "--input", wav, "--out", out); code != 0 {
		t.Fatalf("--out: exit %d: %s", code, stderr)
	}
	st, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if ft := st.Tensors["features"]; ft == nil || ft.Shape[0] != want.Shape[0] || !strings.HasPrefix(st.Metadata["columns"], "zcr,mfcc_1,") {
		t.Errorf("--out file: %+v %v", ft, st.Metadata)
	}
}

// floatWAV encodes mono IEEE-float samples as a WAV file.
func floatWAV(y []float32, rate int) []byte {
	le := func(b []byte, v uint32, n int) []byte {
		for i := range n {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
	var b []byte
	b = append(b, "RIFF"...)
	b = le(b, uint32(36+4*len(y)), 4)
	b = append(b, "WAVEfmt "...)
	b = le(b, 16, 4)
	b = le(b, 3, 2) // IEEE float
	b = le(b, 1, 2)
	b = le(b, uint32(rate), 4)
	b = le(b, uint32(rate*4), 4)
	b = le(b, 4, 2)
	b = le(b, 32, 2)
	b = append(b, "data"...)
	b = le(b, uint32(4*len(y)), 4)
	for _, v := range y {
		b = le(b, math.Float32bits(v), 4)
	}
	return b
}

// TestFeaturesVision runs the command on a demo clip whose drawn face the
// Haar detector finds (demo/README.md) and on a test pattern without a face:
// the demo frames report a face, the pattern gives the all-zero no-face
// vector.
func TestFeaturesVision(t *testing.T) {
	code, stdout, stderr := runCLI("features", "vision", "--input", "../../demo/media/c28_tpos_apos_vpos.mp4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res frameFeatures
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Frames) < 30 || res.Columns[0] != "face_present" || len(res.Columns) != 14 || math.Abs(res.HopS-1.0/15) > 1e-9 {
		t.Fatalf("%d frames, columns %v, hop %v", len(res.Frames), res.Columns, res.HopS)
	}
	faces := 0
	for _, f := range res.Frames {
		if f[0] == 1 {
			faces++
		}
	}
	if faces < len(res.Frames)*9/10 {
		t.Errorf("a face in %d of %d frames of a clip showing one face throughout", faces, len(res.Frames))
	}
	if code, _, stderr := runCLI("features", "vision", "--input", "../../demo/media/missing.mp4", "--json"); code == 0 || !strings.Contains(stderr, "missing.mp4") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}
