package envconfig

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProjectFileAndAssets(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "third_party", "onnxruntime"), 0o755)
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(root, "demo.txt"), nil, 0o644)
	t.Chdir(filepath.Join(root, "a", "b"))
	if p, ok := ProjectFile("demo.txt"); !ok || p != filepath.Join(root, "demo.txt") {
		t.Errorf("ProjectFile = %q, %v", p, ok)
	}
	if _, ok := ProjectFile("nope.txt"); ok {
		t.Error("found a missing file")
	}
	t.Setenv(AssetsVar, "")
	t.Setenv(ORTLibraryVar, "")
	if got, want := ORTLibrary(), filepath.Join(root, "third_party", "onnxruntime", "libonnxruntime.so.1"); got != want {
		t.Errorf("ORTLibrary = %q, want %q", got, want)
	}
	t.Setenv(AssetsVar, "/x")
	t.Setenv(ORTLibraryVar, "/lib/ort.so")
	if AssetsDir() != "/x" || ORTLibrary() != "/lib/ort.so" {
		t.Errorf("env overrides: %q %q", AssetsDir(), ORTLibrary())
	}
}
