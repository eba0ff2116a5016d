package cli

import (
	"fmt"
	"io"

	"github.com/cmc-stream/cmc-stream/ingest/audio"
	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

// native says which native runtimes a command uses.
type native struct {
	// onnx: ONNX Runtime (vision features, VAD).
	onnx bool
	// portAudio: PortAudio (microphone sources).
	portAudio bool
}

// start locates the assets and the ONNX Runtime library (configured's
// values, else envconfig's environment variables and defaults: the
// project's third_party found from the working directory or the
// executable), initialises the runtimes n names, once for the process, and
// returns the resolved paths with a stop function, which shuts the
// runtimes down and reports a failure to stderr; the command defers it.
// Library packages find nothing themselves: they take the paths and use
// the initialised runtimes.
func (n native) start(configured envconfig.Native, stderr io.Writer) (envconfig.Native, func(), error) {
	paths := envconfig.Resolve(configured)
	var stops []func() error
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			if err := stops[i](); err != nil {
				fmt.Fprintf(stderr, "cmc-stream: %v\n", err)
			}
		}
	}
	if n.onnx {
		if err := onnx.Init(paths.ORTLibrary); err != nil {
			return paths, func() {}, err
		}
		stops = append(stops, onnx.Shutdown)
	}
	if n.portAudio {
		if err := audio.Init(); err != nil {
			stop()
			return paths, func() {}, err
		}
		stops = append(stops, audio.Terminate)
	}
	return paths, stop, nil
}

// nativeFor returns the runtimes cfg needs: ONNX Runtime for video,
// speech recognition's voice activity and a BERT text encoder, PortAudio
// for a microphone.
func nativeFor(cfg *app.Config) native {
	n := native{onnx: len(cfg.Sources.Video) > 0 || cfg.ASR != nil || cfg.Text.Encoder == "bert"}
	for _, a := range cfg.Sources.Audio {
		n.portAudio = n.portAudio || a.Device != ""
	}
	return n
}

// startNative completes cfg's assets section (envconfig.Resolve) and the
// PocketSphinx model folder (envconfig.PocketSphinxModelDir), and starts
// the runtimes cfg needs (nativeFor). The command defers the returned stop.
func startNative(cfg *app.Config, stderr io.Writer) (stop func(), err error) {
	n := nativeFor(cfg)
	paths, stop, err := n.start(envconfig.Native{AssetsDir: cfg.Assets.Dir, ORTLibrary: cfg.Assets.ONNXRuntime}, stderr)
	cfg.Assets = app.AssetsConfig{Dir: paths.AssetsDir, ONNXRuntime: paths.ORTLibrary}
	if cfg.ASR != nil {
		cfg.ASR.ModelDir = envconfig.PocketSphinxModelDir(cfg.ASR.ModelDir)
	}
	return stop, err
}
