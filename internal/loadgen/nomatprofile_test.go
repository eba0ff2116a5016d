//go:build !(cgo && !nocv && matprofile)

package loadgen

// liveMats counts nothing without -tags matprofile (gocv records Mats only
// with it).
func liveMats() (n int, counted bool) { return 0, false }
