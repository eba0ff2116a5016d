package app

import (
	"runtime"
	"syscall"
	"testing"
)

// TestLowerThreadPriority checks that the calling thread, and only it, gets
// the nice value.
func TestLowerThreadPriority(t *testing.T) {
	t.Parallel()
	// The raw getpriority system call returns 20 - nice.
	nice := func(tid int) int {
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err != nil {
			t.Fatal(err)
		}
		return 20 - p
	}
	before := nice(0)
	got := make(chan int)
	go func() {
		// Exiting locked ends the thread with its priority.
		runtime.LockOSThread()
		lowerThreadPriority(before + 3)
		got <- nice(syscall.Gettid())
	}()
	if n := <-got; n != before+3 {
		t.Errorf("the worker thread's nice value is %d, want %d", n, before+3)
	}
	if n := nice(0); n != before {
		t.Errorf("the process's nice value changed from %d to %d", before, n)
	}
}

// TestVisionWorkerNice checks that a vision stage worker runs on a thread
// of its own at nice 10 (visionNice), and the process keeps its priority.
func TestVisionWorkerNice(t *testing.T) {
	t.Parallel()
	nice := func(tid int) int {
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err != nil {
			t.Fatal(err)
		}
		return 20 - p
	}
	before := nice(0)
	if before > 10 {
		t.Skipf("the test runs at nice %d, above the vision workers' 10", before)
	}
	got := make(chan int)
	go func() {
		visionStage{}.InitWorker()
		got <- nice(syscall.Gettid())
	}()
	if n := <-got; n != 10 {
		t.Errorf("the vision worker's nice value is %d, want 10", n)
	}
	if n := nice(0); n != before {
		t.Errorf("the process's nice value changed from %d to %d", before, n)
	}
}
