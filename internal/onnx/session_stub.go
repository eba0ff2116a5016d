//go:build !cgo || noort

package onnx

// Init reports ErrNotBuilt.
func Init(string) error { return ErrNotBuilt }

// Shutdown reports ErrNotBuilt.
func Shutdown() error { return ErrNotBuilt }

// Session is not available in this build.
type Session struct{}

// Open reports ErrNotBuilt.
func Open(string, []byte, []string, []string, int) (*Session, error) { return nil, ErrNotBuilt }

// Run reports ErrNotBuilt.
func (*Session) Run(...Tensor) ([]Tensor, error) { return nil, ErrNotBuilt }

// Close reports ErrNotBuilt.
func (*Session) Close() error { return ErrNotBuilt }
