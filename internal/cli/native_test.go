package cli

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
)

// TestStartNativeResolvesAssets: the command completes a run
// configuration's assets section (the configured folder wins over
// $CMC_ASSETS, which wins over the project's third_party), and a
// configuration without video or microphone starts no native runtime, so
// it runs without the ONNX Runtime library.
func TestStartNativeResolvesAssets(t *testing.T) {
	env := t.TempDir()
	t.Setenv(envconfig.AssetsVar, env)
	t.Setenv(envconfig.ORTLibraryVar, "")
	textOnly := func() *app.Config {
		return &app.Config{Sources: app.SourcesConfig{Transcripts: app.TranscriptSource{File: "t.jsonl"}}}
	}
	cfg := textOnly()
	stop, err := startNative(cfg, io.Discard)
	if err != nil {
		t.Fatalf("text-only configuration: %v (no runtime is needed, and $%s has no library)", err, envconfig.AssetsVar)
	}
	stop()
	if want := (app.AssetsConfig{Dir: env, ONNXRuntime: filepath.Join(env, "onnxruntime", "libonnxruntime.so.1")}); cfg.Assets != want {
		t.Errorf("assets from $%s: %+v, want %+v", envconfig.AssetsVar, cfg.Assets, want)
	}
	cfg = textOnly()
	cfg.Assets = app.AssetsConfig{Dir: "/opt/cmc", ONNXRuntime: "/opt/ort.so"}
	stop, err = startNative(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if want := (app.AssetsConfig{Dir: "/opt/cmc", ONNXRuntime: "/opt/ort.so"}); cfg.Assets != want {
		t.Errorf("configured assets: %+v, want them kept", cfg.Assets)
	}
}

// TestNativeFor: which runtimes a run configuration starts.
func TestNativeFor(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  app.Config
		want native
	}{
		{"text only", app.Config{}, native{}},
		{"lexicon", app.Config{Text: app.TextConfig{Encoder: "lexicon"}}, native{}},
		{"bert", app.Config{Text: app.TextConfig{Encoder: "bert", Model: "m.onnx"}}, native{onnx: true}},
		{"video", app.Config{Sources: app.SourcesConfig{Video: []app.VideoSource{{StreamID: "v"}}}}, native{onnx: true}},
		{"asr", app.Config{ASR: &app.ASRConfig{}}, native{onnx: true}},
		{"audio file", app.Config{Sources: app.SourcesConfig{Audio: []app.AudioSource{{File: "a.wav"}}}}, native{}},
		{"microphone", app.Config{Sources: app.SourcesConfig{Audio: []app.AudioSource{{Device: "default"}}}}, native{portAudio: true}},
	} {
		if got := nativeFor(&c.cfg); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
