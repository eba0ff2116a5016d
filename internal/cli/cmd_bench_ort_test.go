//go:build cgo && !noort

package cli

import (
	"encoding/json"
	"math"
	"testing"
)

// TestBenchModelCompare runs bench model --compare onnxruntime on a small
// configuration: both engines are timed on the same inputs and agree on
// the logits.
func TestBenchModelCompare(t *testing.T) {
	code, stdout, stderr := runCLI("bench", "model", "--compare", "onnxruntime", "--preset", "mosi", "--batch", "2", "--fill", "0.3", "--time", "1ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if r.Runs < 3 || !(r.MsPerSample > 0) || !(r.OrtMsPerSample > 0) || math.Abs(r.Ratio-r.MsPerSample/r.OrtMsPerSample) > 1e-9 {
		t.Errorf("result %+v", r)
	}
	if r.MaxLogitDiff > 1e-5 {
		t.Errorf("Go and ONNX Runtime logits differ by %g", r.MaxLogitDiff)
	}
}
