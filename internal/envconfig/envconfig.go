// Package envconfig is the command layer's view of the process
// environment: it reads every environment variable cmc-stream uses, in one
// place, and finds the project's files from the working directory or the
// executable, so that `cmc-stream demo` run from a clone finds the demo and
// the assets make setup fetched. Only the command (internal/cli) imports it
// (internal/layering checks): library packages take paths as parameters.
// Tests may use it to locate the assets the way the command does.
package envconfig

import (
	"cmp"
	"os"
	"path/filepath"
)

// Environment variable names.
const (
	// AssetsVar names the folder of fetched assets (ONNX Runtime, models,
	// lexicons). It overrides the default (Resolve), and is overridden by
	// the configuration (assets.dir in a run configuration).
	AssetsVar = "CMC_ASSETS"
	// ORTLibraryVar names the ONNX Runtime shared library. It overrides
	// the default (Resolve), and is overridden by the configuration
	// (assets.onnxruntime in a run configuration).
	ORTLibraryVar = "CMC_ORT_LIB"
	// PocketSphinxModelVar names the folder of PocketSphinx's models
	// (asr.Config.ModelDir). It overrides the default (Debian's
	// /usr/share/pocketsphinx/model), and is overridden by the
	// configuration (asr.model_dir in a run configuration).
	PocketSphinxModelVar = "CMC_POCKETSPHINX_MODEL"
)

// Native locates what the native runtimes need: the folder of fetched
// assets and the ONNX Runtime shared library.
type Native struct {
	// AssetsDir is the folder of fetched assets: models/, lexicons/ and
	// onnxruntime/, as scripts/setup.sh lays them out.
	AssetsDir string
	// ORTLibrary is the ONNX Runtime shared library.
	ORTLibrary string
}

// ORTLibraryFile is the ONNX Runtime library's path below the assets
// folder, where scripts/setup.sh puts it.
var ORTLibraryFile = filepath.Join("onnxruntime", "libonnxruntime.so.1")

// Resolve returns n with each empty field set from its environment
// variable, else its default: for AssetsDir the first third_party folder
// found by ProjectFile (else "third_party"), for ORTLibrary ORTLibraryFile
// below AssetsDir. A field already set (from the configuration) is kept.
func Resolve(n Native) Native {
	n.AssetsDir = cmp.Or(n.AssetsDir, os.Getenv(AssetsVar))
	if n.AssetsDir == "" {
		n.AssetsDir, _ = ProjectFile("third_party")
	}
	n.ORTLibrary = cmp.Or(n.ORTLibrary, os.Getenv(ORTLibraryVar), filepath.Join(n.AssetsDir, ORTLibraryFile))
	return n
}

// PocketSphinxModelDir returns configured, else the value of
// PocketSphinxModelVar; empty means the recogniser's default.
func PocketSphinxModelDir(configured string) string {
	return cmp.Or(configured, os.Getenv(PocketSphinxModelVar))
}

// ProjectFile finds rel (a path inside the project, such as
// "demo/media/showcase.mp4") in the working directory or the closest folder
// above it that has it, then likewise from the executable's folder. It
// returns rel itself and false when none has it.
func ProjectFile(rel string) (string, bool) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			candidate := filepath.Join(dir, rel)
			if _, err := os.Stat(candidate); err == nil {
				return candidate, true
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return rel, false
}
