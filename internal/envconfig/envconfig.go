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
// third_party folder found above the working directory or beside the
// executable's folder, else "third_party".
func AssetsDir() string {
	if v := os.Getenv(AssetsVar); v != "" {
		return v
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			candidate := filepath.Join(dir, "third_party")
			if st, err := os.Stat(candidate); err == nil && st.IsDir() {
				return candidate
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "third_party"
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
