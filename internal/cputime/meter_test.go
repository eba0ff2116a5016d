package cputime

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// spin burns about d of the calling thread's CPU time.
func spin(t *testing.T, d time.Duration) {
	t.Helper()
	start, ok := Thread()
	if !ok {
		t.Skip("no thread CPU clock")
	}
	x := 1.0
	for {
		for range 10000 {
			x = x*1.0000001 + 1e-9
		}
		if now, _ := Thread(); now-start >= d {
			break
		}
	}
	if x == 0 {
		t.Log(x)
	}
}

// TestSplitAddsUpToProcess checks the split against the process's own
// accounting (getrusage): goroutines that only do metered work on both
// cores, with other processes competing for them, must account for the
// process's CPU time within 10 % plus 30 ms (the runtime's own work:
// scheduling, timers, the threads that locking creates).
func TestSplitAddsUpToProcess(t *testing.T) {
	if _, ok := Thread(); !ok {
		t.Skip("no thread CPU clock")
	}
	var m Meter
	runtime.GC()
	p0 := process()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 20 {
				sp := m.Begin()
				spin(t, 2*time.Millisecond)
				sp.Lap(Stage(g % int(Stages)))
				spin(t, 3*time.Millisecond)
				sp.Lap(Vision)
				sp.End()
				time.Sleep(time.Millisecond) // off CPU between items, as a stage waits for its next
			}
		})
	}
	wg.Wait()
	p1 := process()
	got, want := m.Split(), p1-p0
	if got[Vision] < 4*20*3*time.Millisecond || got[Decode] < 20*2*time.Millisecond {
		t.Errorf("split %v: vision below the 240 ms spun or decode below 40 ms", got)
	}
	if diff := (want - got.Sum()).Abs(); diff > want/10+30*time.Millisecond {
		t.Errorf("stages sum to %v, getrusage says the process used %v (off by %v)", got.Sum(), want, diff)
	}
}

// TestNilMeter checks that the nil Meter measures nothing and leaves the
// goroutine unlocked.
func TestNilMeter(t *testing.T) {
	var m *Meter
	sp := m.Begin()
	sp.Lap(Vision)
	sp.End()
	m.Add(Decode, time.Second)
	if s := m.Split(); s.Sum() != 0 {
		t.Errorf("nil meter split %v, want zero", s)
	}
}

func TestStageNames(t *testing.T) {
	want := []string{"decode", "vision", "text", "audio", "model", "sinks"}
	for i, w := range want {
		if got := Stage(i).String(); got != w {
			t.Errorf("Stage(%d) = %q, want %q", i, got, w)
		}
	}
	if got := Stages.String(); got != "stage(?)" {
		t.Errorf("Stages.String() = %q", got)
	}
}

// process is the process's CPU time so far.
func process() time.Duration { return time.Duration(Seconds() * float64(time.Second)) }
