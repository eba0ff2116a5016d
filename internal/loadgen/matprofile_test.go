//go:build cgo && !nocv && matprofile

package loadgen

import (
	"testing"

	"gocv.io/x/gocv"
)

// liveMats returns the Mats allocated and not yet closed: built with
// -tags matprofile, gocv records every Mat until it is closed.
func liveMats() (n int, counted bool) { return gocv.MatProfile.Count(), true }

// TestLiveMatsCounts shows that TestSoak's leak check sees a Mat left open:
// one more while a Mat lives, back once it is closed.
func TestLiveMatsCounts(t *testing.T) {
	before, _ := liveMats()
	m := gocv.NewMat()
	if n, _ := liveMats(); n != before+1 {
		t.Errorf("%d live Mats with one open, want %d", n, before+1)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := liveMats(); n != before {
		t.Errorf("%d live Mats after closing it, want %d", n, before)
	}
}
