//go:build cgo && !nocv && matprofile

package video

import (
	"fmt"
	"strings"

	"gocv.io/x/gocv"
)

// matLeaks reports the Mats still allocated after the tests: built with
// -tags matprofile, gocv records every Mat until it is closed.
func matLeaks() error {
	if n := gocv.MatProfile.Count(); n > 0 {
		var b strings.Builder
		if err := gocv.MatProfile.WriteTo(&b, 1); err != nil {
			return err
		}
		return fmt.Errorf("video: %d Mats not closed:\n%s", n, b.String())
	}
	return nil
}
