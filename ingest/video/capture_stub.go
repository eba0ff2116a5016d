//go:build !cgo || nocv

package video

import "context"

// Open returns ErrNotBuilt: this build has no OpenCV (tag nocv or
// CGO_ENABLED=0).
func Open(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}

// ReadFile returns ErrNotBuilt: this build has no OpenCV (tag nocv or
// CGO_ENABLED=0).
func ReadFile(ctx context.Context, path string, cfg Config, fn func(Frame) error) (Stats, error) {
	return Stats{}, ErrNotBuilt
}
