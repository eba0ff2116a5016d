package kafka

import "testing"

// TestCodecLimit: the bounded codecs' bound is the largest of the
// connected sources' bounds, and the default once none is left.
func TestCodecLimit(t *testing.T) {
	a, b := new(int), new(int)
	for _, step := range []struct {
		src   any
		limit int64
		want  int64
	}{
		{a, 64 << 10, 64 << 10},
		{b, 1 << 20, 1 << 20},
		{b, 0, 64 << 10},
		{a, 0, DefaultMaxDecompressedBytes},
	} {
		setCodecLimit(step.src, step.limit)
		if got := codecLimit.Load(); got != step.want {
			t.Fatalf("after setting %d: bound %d, want %d", step.limit, got, step.want)
		}
	}
}
