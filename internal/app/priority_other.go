//go:build !linux

package app

// lowerThreadPriority does nothing where thread priorities are not set
// per thread.
func lowerThreadPriority(int) {}
