package envconfig

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProjectFileAndResolve(t *testing.T) {
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
	want := Native{AssetsDir: filepath.Join(root, "third_party"), ORTLibrary: filepath.Join(root, "third_party", "onnxruntime", "libonnxruntime.so.1")}
	if got := Resolve(Native{}); got != want {
		t.Errorf("defaults: Resolve = %+v, want %+v", got, want)
	}
	t.Setenv(AssetsVar, "/x")
	if got := Resolve(Native{}); got != (Native{AssetsDir: "/x", ORTLibrary: "/x/onnxruntime/libonnxruntime.so.1"}) {
		t.Errorf("$%s: Resolve = %+v", AssetsVar, got)
	}
	t.Setenv(ORTLibraryVar, "/lib/ort.so")
	if got := Resolve(Native{}); got != (Native{AssetsDir: "/x", ORTLibrary: "/lib/ort.so"}) {
		t.Errorf("$%s: Resolve = %+v", ORTLibraryVar, got)
	}
	configured := Native{AssetsDir: "/cfg", ORTLibrary: "/cfg/ort.so"}
	if got := Resolve(configured); got != configured {
		t.Errorf("configured values: Resolve = %+v, want them kept", got)
	}
}

// TestPocketSphinxModelDir checks the order: the configuration, then the
// environment variable, then empty (the recogniser's default).
func TestPocketSphinxModelDir(t *testing.T) {
	t.Setenv(PocketSphinxModelVar, "")
	if got := PocketSphinxModelDir(""); got != "" {
		t.Errorf("unset: %q, want empty", got)
	}
	t.Setenv(PocketSphinxModelVar, "/env/model")
	if got := PocketSphinxModelDir(""); got != "/env/model" {
		t.Errorf("$%s: %q, want /env/model", PocketSphinxModelVar, got)
	}
	if got := PocketSphinxModelDir("/cfg/model"); got != "/cfg/model" {
		t.Errorf("configured: %q, want /cfg/model", got)
	}
}
