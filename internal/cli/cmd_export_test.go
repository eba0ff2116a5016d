package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestExportNeedsFlags names the missing flags.
func TestExportNeedsFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runExport(context.Background(), []string{"--model", "x"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--onnx") {
		t.Errorf("error %v, want one naming --onnx", err)
	}
}
