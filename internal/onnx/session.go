//go:build cgo && !noort

package onnx

import (
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	initMu  sync.Mutex
	initErr error
	inited  bool
)

// Init loads the ONNX Runtime shared library at libPath and creates the
// process-wide environment. Later calls return the first call's result,
// until Shutdown. Safe for concurrent use.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if inited {
		return initErr
	}
	inited = true
	if _, err := os.Stat(libPath); err != nil {
		initErr = fmt.Errorf("onnx: ONNX Runtime library: %w (make setup fetches it; assets.onnxruntime or $CMC_ORT_LIB name another)", err)
		return initErr
	}
	ort.SetSharedLibraryPath(libPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		initErr = fmt.Errorf("onnx: initialising ONNX Runtime from %s: %w", libPath, err)
	}
	return initErr
}

// Shutdown destroys the environment created by Init; Open then returns
// ErrNotInitialized. Close every Session first.
func Shutdown() error {
	initMu.Lock()
	defer initMu.Unlock()
	if !inited {
		return nil
	}
	inited = false
	if initErr != nil {
		initErr = nil
		return nil
	}
	return ort.DestroyEnvironment()
}

// ready returns nil once Init succeeded, else why sessions cannot open.
func ready() error {
	initMu.Lock()
	defer initMu.Unlock()
	if !inited {
		return ErrNotInitialized
	}
	return initErr
}

// Session is one loaded model. Run is safe for concurrent use (ONNX Runtime
// sessions are); Close must be called once, after the last Run.
type Session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []string
	outputs []string
	path    string
}

// Open loads the model at path (or from data when path is empty) with the
// named inputs and outputs, running on at most threads intra-op threads
// (0: ONNX Runtime's default). Init must have succeeded: before, Open
// returns ErrNotInitialized, and after a failed Init, Init's error.
func Open(path string, data []byte, inputs, outputs []string, threads int) (*Session, error) {
	if err := ready(); err != nil {
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer func() { _ = opts.Destroy() }()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
	}
	var s *ort.DynamicAdvancedSession
	name := path
	if path != "" {
		s, err = ort.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	} else {
		name = "<memory>"
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, inputs, outputs, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: loading model %s: %w", name, err)
	}
	return &Session{s: s, inputs: inputs, outputs: outputs, path: name}, nil
}

// Run feeds one tensor per input name, in Open's order, and returns one
// float32 tensor per output name.
func (s *Session) Run(inputs ...Tensor) ([]Tensor, error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("onnx: %s: %d inputs, want %d (%v)", s.path, len(inputs), len(s.inputs), s.inputs)
	}
	values := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range values {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	for i, in := range inputs {
		v, err := newValue(in)
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: input %q shape %v: %w", s.path, s.inputs[i], in.Shape, err)
		}
		values[i] = v
	}
	outputs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run(values, outputs); err != nil {
		return nil, fmt.Errorf("onnx: %s: run: %w", s.path, err)
	}
	result := make([]Tensor, len(outputs))
	defer func() {
		for _, v := range outputs {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	for i, v := range outputs {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("onnx: %s: output %q is %T, want a float32 tensor", s.path, s.outputs[i], v)
		}
		result[i] = Tensor{Shape: append([]int64{}, t.GetShape()...), F32: append([]float32{}, t.GetData()...)}
	}
	return result, nil
}

// newValue makes an ONNX Runtime value of t; an empty shape is a scalar.
func newValue(t Tensor) (ort.Value, error) {
	switch {
	case t.F32 != nil && len(t.Shape) == 0 && len(t.F32) == 1:
		return ort.NewScalar(t.F32[0])
	case t.I64 != nil && len(t.Shape) == 0 && len(t.I64) == 1:
		return ort.NewScalar(t.I64[0])
	case t.F32 != nil:
		return ort.NewTensor(ort.NewShape(t.Shape...), t.F32)
	case t.I64 != nil:
		return ort.NewTensor(ort.NewShape(t.Shape...), t.I64)
	}
	return nil, errors.New("no data")
}

// Close releases the session.
func (s *Session) Close() error {
	return s.s.Destroy()
}
