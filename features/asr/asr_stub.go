//go:build !cgo || nopocketsphinx

package asr

// Recognizer is unavailable in this build (tag nopocketsphinx or
// CGO_ENABLED=0).
type Recognizer struct{}

// New returns ErrNotBuilt (after checking cfg's language): this build has
// no PocketSphinx.
func New(cfg Config) (*Recognizer, error) {
	if err := CheckLanguage(cfg.Lang); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}

// Recognize returns ErrNotBuilt.
func (r *Recognizer) Recognize([]int16) (Result, error) { return Result{}, ErrNotBuilt }

// Close does nothing.
func (r *Recognizer) Close() error { return nil }
