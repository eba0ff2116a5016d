//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestSecondsCountsWork checks that a busy loop of 200 ms wall time adds
// CPU time and that sleeping adds almost none.
func TestSecondsCountsWork(t *testing.T) {
	start := Seconds()
	x := 1.0
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
		x = x*1.0000001 + 1e-9
	}
	busy := Seconds() - start
	if !(busy > 0) || x == 0 {
		t.Fatalf("a 200 ms busy loop added %v CPU-seconds", busy)
	}
	start = Seconds()
	time.Sleep(200 * time.Millisecond)
	if idle := Seconds() - start; idle > 0.1 {
		t.Errorf("a 200 ms sleep added %v CPU-seconds", idle)
	}
}
