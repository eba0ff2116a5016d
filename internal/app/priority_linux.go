package app

import "syscall"

// lowerThreadPriority sets the nice value of the calling OS thread (Linux
// schedules threads, not processes); failures leave it unchanged.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
