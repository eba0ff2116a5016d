package pipeline

import (
	"errors"
	"fmt"
)

// ErrEndOfInput is returned by Source.Read when the source has no more items
// and never will (the end of a file, a bounded replay). The runner then stops
// reading that source; the pipeline ends once every source has ended and the
// items in flight have drained.
var ErrEndOfInput = errors.New("pipeline: end of input")

// ErrNotConnected is returned by Source.Read when the source lost its
// connection. The runner waits Config.ReconnectBackoff and calls Connect again
// before the next Read.
var ErrNotConnected = errors.New("pipeline: not connected")

// ErrShutdownTimeout is returned by Runner.Run when the soft shutdown did not
// finish within 3/4 of Config.ShutdownTimeout and the runner had to stop every
// node (the hard phase). Items still in flight at that point were abandoned
// without acknowledgement.
var ErrShutdownTimeout = errors.New("pipeline: soft shutdown timed out")

// ItemError reports one item that failed in a stage or a sink. The runner
// passes it to Config.OnError, writes it to Config.DeadLetter when that is
// set, and acknowledges the item's source with it unless the dead-letter
// sink took it.
type ItemError struct {
	// Node is the name of the stage or sink where the item failed.
	Node string
	// Item is the value that failed, as the node received it.
	Item any
	// Err is the error the node returned for the item.
	Err error
}

// Error implements the error interface.
func (e *ItemError) Error() string {
	return fmt.Sprintf("pipeline: %s: %v", e.Node, e.Err)
}

// Unwrap returns the node's error, so errors.Is and errors.As see through an
// ItemError.
func (e *ItemError) Unwrap() error { return e.Err }

// BatchError is returned by Sink.Write to report per-item failures: Errs[i]
// is the error for batch[i], or nil when that item was accepted. A BatchError
// whose length differs from the batch's is treated as a failure of the whole
// batch.
type BatchError struct {
	// Errs holds one entry per item of the batch passed to Write.
	Errs []error
}

// Error implements the error interface.
func (e *BatchError) Error() string {
	n := 0
	for _, err := range e.Errs {
		if err != nil {
			n++
		}
	}
	return fmt.Sprintf("pipeline: %d of %d items failed", n, len(e.Errs))
}

// Unwrap returns the per-item errors, so errors.Is and errors.As see each
// one.
func (e *BatchError) Unwrap() []error { return e.Errs }
