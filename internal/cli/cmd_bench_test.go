package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchModel(t *testing.T) {
	code, stdout, stderr := runCLI("bench", "model", "--preset", "mosi", "--batch", "2", "--fill", "0.3", "--time", "1ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if r.Preset != "mosi" || r.Batch != 2 || r.Runs < 3 || !(r.MsPerSample > 0) || r.MsPerBatch != 2*r.MsPerSample {
		t.Errorf("result %+v", r)
	}
	for _, bad := range [][]string{{"bench"}, {"bench", "model", "--preset", "nope"}, {"bench", "model", "--fill", "2"}, {"bench", "model", "--compare", "tflite"}} {
		if code, _, stderr := runCLI(bad...); code != exitUsage || !strings.Contains(stderr, "cmc-stream bench") {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}
}

// TestBenchHelp: bench -h lists every target and exits 0, and the
// top-level usage names every target too.
func TestBenchHelp(t *testing.T) {
	code, _, stderr := runCLI("bench", "-h")
	_, _, usage := runCLI("help")
	line := ""
	for l := range strings.Lines(usage) {
		if strings.HasPrefix(strings.TrimSpace(l), "bench ") {
			line = l
		}
	}
	if code != exitOK {
		t.Errorf("bench -h: exit %d, want 0: %s", code, stderr)
	}
	for target := range benchTargets {
		if !strings.Contains(stderr, target) {
			t.Errorf("bench -h does not name the target %q:\n%s", target, stderr)
		}
		if !strings.Contains(line, target) {
			t.Errorf("the usage's bench line does not name the target %q:\n%s", target, usage)
		}
	}
}

func TestBenchTrain(t *testing.T) {
	code, stdout, stderr := runCLI("bench", "train", "--clips", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r trainBenchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Clips != 8 || !(r.Stage1EpochS > 0) || !(r.Stage2EpochS > 0) || !(r.Stage1CPUS > 0) || !(r.Stage2CPUS > 0) || r.LoadStart == "" || r.LoadEnd == "" {
		t.Errorf("result %+v", r)
	}
}

func TestBenchFeatures(t *testing.T) {
	t.Chdir("../..")
	code, stdout, stderr := runCLI("bench", "features", "--time", "1ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r featureBenchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Runs < 3 || !(r.MsPerUnit > 0) {
			t.Errorf("line %q: %+v %v", line, r, err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d extractors, want 4", n)
	}
}

func TestBenchPipeline(t *testing.T) {
	code, stdout, stderr := runCLI("bench", "pipeline", "--streams", "1", "--duration", "6s", "--vision-workers", "2", "--json")
	if code == exitError && strings.Contains(stderr, "built without") {
		t.Skip(stderr)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Streams       int     `json:"streams"`
		VisionWorkers int     `json:"vision_workers"`
		Expected      int64   `json:"expected"`
		Events        int64   `json:"events"`
		P99           float64 `json:"p99_ms"`
		Met           *bool   `json:"met"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if r.Streams != 1 || r.VisionWorkers != 2 || r.Expected != 1 || r.Events != 1 || !(r.P99 > 0) || r.Met == nil {
		t.Errorf("result %+v from %q", r, stdout)
	}
	for _, bad := range [][]string{
		{"bench", "pipeline", "--streams", "0"},
		{"bench", "pipeline", "--p99", "0s"},
		{"bench", "pipeline", "--vision-workers", "0"},
		{"bench", "pipeline", "--nope"},
	} {
		if code, _, stderr := runCLI(bad...); code != exitUsage || !strings.Contains(stderr, "cmc-stream bench") {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}
}
