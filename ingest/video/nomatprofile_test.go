//go:build cgo && !nocv && !matprofile

package video

// matLeaks checks nothing without -tags matprofile (gocv records Mats only
// with that tag).
func matLeaks() error { return nil }
