//go:build !linux

package live

// lowerThreadPriority does nothing where thread priorities are not set
// per thread.
func lowerThreadPriority(int) {}
