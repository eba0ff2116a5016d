//go:build !cgo || noportaudio

package audio

// Init returns ErrNotBuilt: this build has no PortAudio (tag noportaudio or
// CGO_ENABLED=0).
func Init() error { return ErrNotBuilt }

// Terminate does nothing: this build has no PortAudio.
func Terminate() error { return nil }

// ListDevices returns ErrNotBuilt: this build has no PortAudio.
func ListDevices() ([]Device, error) { return nil, ErrNotBuilt }

// Open returns ErrNotBuilt (after validating cfg): this build has no
// PortAudio.
func Open(cfg Config) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}
