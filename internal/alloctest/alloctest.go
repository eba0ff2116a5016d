// Package alloctest bounds what a call allocates, for the fuzz targets of
// the decoders of external input: each must allocate in proportion to its
// input's real size and its documented limits, whatever the input declares.
package alloctest

import (
	"runtime"
	"testing"
)

// Bound runs fn and fails t when fn allocated more than limit bytes in
// total (runtime.MemStats.TotalAlloc, so it must not run in parallel with
// other allocating tests: fuzz seeds and fuzzing run one input at a time).
func Bound(t testing.TB, limit uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("allocated %d bytes, above the bound of %d", got, limit)
	}
}
