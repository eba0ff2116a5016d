package app

import (
	"runtime"
	"syscall"
	"testing"
)

// threadNice returns the nice value of thread tid (0: the calling one),
// or -100 after reporting an error (it may run on a goroutine of its own).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	// The raw getpriority system call returns 20 - nice.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		t.Error(err)
		return -100
	}
	return 20 - p
}

// onThread runs init on a goroutine that ends locked to its OS thread (so
// the thread and its priority end with it) and returns the thread's nice
// value after init.
func onThread(t *testing.T, init func()) int {
	got := make(chan int)
	go func() {
		runtime.LockOSThread()
		init()
		got <- threadNice(t, syscall.Gettid())
	}()
	return <-got
}

// TestLowerThreadPriority checks that the calling thread, and only it, gets
// the nice value.
func TestLowerThreadPriority(t *testing.T) {
	t.Parallel()
	before := threadNice(t, 0)
	if n := onThread(t, func() { lowerThreadPriority(before + 3) }); n != before+3 {
		t.Errorf("the worker thread's nice value is %d, want %d", n, before+3)
	}
	if n := threadNice(t, 0); n != before {
		t.Errorf("the process's nice value changed from %d to %d", before, n)
	}
}

// TestVisionWorkerNice checks that a vision stage worker runs on a thread
// of its own at nice 10 (visionNice), and the process keeps its priority.
func TestVisionWorkerNice(t *testing.T) {
	t.Parallel()
	before := threadNice(t, 0)
	if before > 10 {
		t.Skipf("the test runs at nice %d, above the vision workers' 10", before)
	}
	if n := onThread(t, visionStage{}.InitWorker); n != 10 {
		t.Errorf("the vision worker's nice value is %d, want 10", n)
	}
	if n := threadNice(t, 0); n != before {
		t.Errorf("the process's nice value changed from %d to %d", before, n)
	}
}
