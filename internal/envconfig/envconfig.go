// Package envconfig reads every environment variable cmc-stream uses, in one
// place, with typed accessors and documented defaults.
package envconfig

import (
	"os"
	"path/filepath"
)

// Environment variable names.
const (
	// AssetsVar names the folder of fetched assets (ONNX Runtime, models,
	// lexicons). Default: the project's third_party folder, found beside the
	// executable's parent folder or above the working directory.
	AssetsVar = "CMC_ASSETS"
	// ORTLibraryVar names the ONNX Runtime shared library. Default:
	// <assets>/onnxruntime/libonnxruntime.so.1.
	ORTLibraryVar = "CMC_ORT_LIB"
)

// AssetsDir returns the assets folder: $CMC_ASSETS, else the first
// third_party folder found above the working directory or above the
// executable's folder, else "third_party".
func AssetsDir() string {
	if v := os.Getenv(AssetsVar); v != "" {
		return v
	}
	if p, ok := ProjectFile("third_party"); ok {
		return p
	}
	return "third_party"
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

// Asset returns the path of a fetched asset, relative to AssetsDir.
func Asset(rel string) string { return filepath.Join(AssetsDir(), rel) }

// ORTLibrary returns the ONNX Runtime shared library path: $CMC_ORT_LIB,
// else <assets>/onnxruntime/libonnxruntime.so.1.
func ORTLibrary() string {
	if v := os.Getenv(ORTLibraryVar); v != "" {
		return v
	}
	return Asset(filepath.Join("onnxruntime", "libonnxruntime.so.1"))
}
