//go:build !cgo || nocv

package vision

// haar is absent from this build (tag nocv or CGO_ENABLED=0).
type haar struct{}

// newHaar reports ErrNotBuilt: this build has no OpenCV; set
// Config.DisableHaar to run without the fallback.
func newHaar(string) (*haar, error) { return nil, ErrNotBuilt }

func (*haar) detect([]byte, int, int) ([]box, error) { return nil, ErrNotBuilt }

func (*haar) close() error { return nil }
