package kafka

// Inflated returns the bytes the bounded codecs produced in the process so
// far.
func Inflated() int64 { return inflated.Load() }
