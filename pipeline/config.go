package pipeline

import (
	"fmt"
	"time"
)

// Defaults applied by the runner to zero-valued configuration fields.
const (
	// DefaultShutdownTimeout is the default Config.ShutdownTimeout.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultReconnectBackoff is the default Config.ReconnectBackoff.
	DefaultReconnectBackoff = time.Second
	// DefaultWorkers is the default StageConfig.Workers.
	DefaultWorkers = 1
	// DefaultBatchSize is the default SinkConfig.BatchSize.
	DefaultBatchSize = 64
	// DefaultTickInterval is the default StageConfig.TickInterval.
	DefaultTickInterval = 100 * time.Millisecond
)

// Config configures a Runner. The zero value is valid and means every
// default.
type Config struct {
	// ShutdownTimeout bounds the shutdown that starts when Run's context is
	// cancelled. The soft phase (drain, flush, acknowledge) gets 3/4 of it;
	// then the runner cancels every node and waits the remaining 1/4 for
	// their goroutines. Zero means DefaultShutdownTimeout (10 s).
	ShutdownTimeout time.Duration
	// ReconnectBackoff is how long a source waits before calling Connect
	// again after a failure or ErrNotConnected, and before reading again
	// after any other Read error. Zero means DefaultReconnectBackoff (1 s).
	ReconnectBackoff time.Duration
	// OnError, when set, receives every error the runner reports while
	// running: an *ItemError for each failed item, and wrapped errors from
	// Connect, Read, Tick, Drain, Flush, acknowledgements and the dead-letter
	// sink (Close errors are returned by Run instead). It is called from many
	// goroutines at once and must be safe for concurrent use. Nil means
	// errors are only counted in the metrics.
	OnError func(error)
	// DeadLetter, when set, receives every failed item as an *ItemError,
	// before the item is acknowledged: with a nil error when Write succeeded
	// (the failure is on record), with the failure otherwise. The runner
	// serialises its Writes and closes it at the end of Run.
	DeadLetter Sink[*ItemError]
	// Now reads the clock used for latency metrics. Nil means time.Now.
	Now func() time.Time
}

// Validate reports the first invalid field of c, by name.
func (c Config) Validate() error {
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("pipeline: Config.ShutdownTimeout must not be negative, got %v", c.ShutdownTimeout)
	}
	if c.ReconnectBackoff < 0 {
		return fmt.Errorf("pipeline: Config.ReconnectBackoff must not be negative, got %v", c.ReconnectBackoff)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ReconnectBackoff == 0 {
		c.ReconnectBackoff = DefaultReconnectBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// SourceConfig configures the sources added with From. The zero value is
// valid.
type SourceConfig struct {
	// Buffer is the capacity of the channel the sources feed, in items.
	// Zero (the default) is an unbuffered handoff.
	Buffer int
}

// StageConfig configures one stage added with Via. The zero value is valid.
type StageConfig struct {
	// Workers is the number of goroutines running Process, i.e. the stage's
	// maximum number of items in flight. Zero means DefaultWorkers (1).
	Workers int
	// Buffer is the capacity of the stage's output channel, in items. Zero
	// (the default) is an unbuffered handoff.
	Buffer int
	// TickInterval is how often the runner calls Tick on a stage that
	// implements Ticker; it is ignored for other stages. Zero means
	// DefaultTickInterval (100 ms).
	TickInterval time.Duration
}

// SinkConfig configures one sink added with To. The zero value is valid.
type SinkConfig struct {
	// BatchSize is the largest batch passed to Write. The runner never waits
	// to fill a batch: it writes what is ready. Zero means DefaultBatchSize
	// (64).
	BatchSize int
}

// Validate reports a negative Buffer.
func (c SourceConfig) Validate() error {
	if c.Buffer < 0 {
		return fmt.Errorf("pipeline: SourceConfig.Buffer must not be negative, got %d", c.Buffer)
	}
	return nil
}

// Validate reports a negative Workers, Buffer or TickInterval, by name.
func (c StageConfig) Validate() error {
	if c.Workers < 0 {
		return fmt.Errorf("pipeline: StageConfig.Workers must not be negative, got %d", c.Workers)
	}
	if c.Buffer < 0 {
		return fmt.Errorf("pipeline: StageConfig.Buffer must not be negative, got %d", c.Buffer)
	}
	if c.TickInterval < 0 {
		return fmt.Errorf("pipeline: StageConfig.TickInterval must not be negative, got %v", c.TickInterval)
	}
	return nil
}

// Validate reports a negative BatchSize.
func (c SinkConfig) Validate() error {
	if c.BatchSize < 0 {
		return fmt.Errorf("pipeline: SinkConfig.BatchSize must not be negative, got %d", c.BatchSize)
	}
	return nil
}
