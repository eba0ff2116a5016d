package align

import (
	"fmt"
	"time"
)

// Policy chooses how a stream is cut into windows.
type Policy string

// The window policies.
const (
	// Utterance makes one window per final transcript segment.
	Utterance Policy = "utterance"
	// Sliding makes windows of a fixed size at a fixed hop.
	Sliding Policy = "sliding"
)

// Numbering chooses how the windows of a stream are numbered (Window.Seq).
type Numbering string

// The numberings.
const (
	// Count numbers the windows of a stream 0, 1, 2, ... in emission
	// order. A stream that expired (IdleTimeout) and comes back, or that
	// another process takes over, starts again from 0.
	Count Numbering = "count"
	// StartMillis numbers an utterance window by its segment's start in
	// milliseconds: since the Unix epoch when the segment carried
	// wall-clock times (Segment.WallClock: Origin plus Start), since the
	// stream's start otherwise. A segment delivered again, after a crash
	// or a rebalance, gets the number it had, in any process. Utterance
	// policy only.
	StartMillis Numbering = "start_ms"
)

// Defaults applied by New to zero-valued Config fields.
const (
	// DefaultPolicy is the default Config.Policy.
	DefaultPolicy = Utterance
	// DefaultSize is the default Config.Size for the sliding policy.
	DefaultSize = 3 * time.Second
	// DefaultHop is the default Config.Hop for the sliding policy.
	DefaultHop = time.Second
	// DefaultMaxWait is the default Config.MaxWait.
	DefaultMaxWait = 2 * time.Second
	// DefaultMaxBuffered is the default Config.MaxBuffered: about 50 s of
	// 20 ms audio chunks plus 30 frame/s video.
	DefaultMaxBuffered = 4096
	// DefaultIdleTimeout is the default Config.IdleTimeout.
	DefaultIdleTimeout = time.Minute
	// DefaultNumbering is the default Config.Numbering.
	DefaultNumbering = Count
)

// Config configures an Aligner. The zero value is valid: utterance windows,
// no allowed lateness, every other field at its default.
type Config struct {
	// Policy is Utterance or Sliding. Empty means DefaultPolicy
	// (utterance).
	Policy Policy
	// Size is the length of a sliding window, in event time. Sliding only;
	// zero means DefaultSize (3 s).
	Size time.Duration
	// Hop is the distance between the starts of two sliding windows, at
	// most Size. Sliding only; zero means DefaultHop (1 s), or Size when
	// Size is set below it.
	Hop time.Duration
	// Offset shifts the sliding grid: window k starts at Offset+k*Hop. It
	// must be below Hop; an item wholly before Offset falls into no window
	// and is dropped as late. Sliding only; default 0.
	Offset time.Duration
	// AllowedLateness is how far behind its modality's watermark an item
	// may arrive and still be used; a window waits for the watermarks to
	// pass its end plus AllowedLateness. Default 0: items must arrive in
	// order per modality.
	AllowedLateness time.Duration
	// MaxWait is how long, on the clock Now, a window that fell due waits
	// for the watermarks of its missing modalities before it is emitted
	// anyway (marked Forced). Zero means DefaultMaxWait (2 s).
	MaxWait time.Duration
	// Expect lists modalities to await from a stream's start, before they
	// are first seen (such as Vision for a webcam stream whose first frame
	// comes late). The modalities a stream has sent are always awaited.
	// Default: none.
	Expect Modalities
	// MaxBuffered caps the media items (audio chunks plus frames) buffered
	// per stream; past it the oldest item is dropped and counted in
	// Stats.Overflow. Zero means DefaultMaxBuffered (4096).
	MaxBuffered int
	// IdleTimeout is how long, on the clock Now, a stream may go without
	// input before Tick flushes and removes it. A stream that sends again
	// afterwards starts afresh, with Seq from 0, so IdleTimeout should
	// exceed any pause within a stream. Zero means DefaultIdleTimeout
	// (1 min).
	IdleTimeout time.Duration
	// Numbering is Count or StartMillis (utterance policy only). Empty
	// means DefaultNumbering (Count).
	Numbering Numbering
	// Now reads the clock that MaxWait and IdleTimeout are measured on.
	// Nil means time.Now.
	Now func() time.Time
	// OnDrop, when set, is told of media items dropped from a stream
	// (besides the counts of Stats): reason "overflow" for items beyond
	// MaxBuffered, "expired" for items an expired stream held and no
	// window used. It is called with the Aligner's lock held: it must be
	// quick and must not call the Aligner. Nil means none.
	OnDrop func(stream string, items int, reason string)
}

// Validate reports the first invalid field of c, by name, including the
// cross-field rules: Hop at most Size, Offset below Hop, and no sliding
// fields with the utterance policy.
func (c Config) Validate() error {
	switch c.Policy {
	case "", Utterance:
		if c.Size != 0 || c.Hop != 0 || c.Offset != 0 {
			return fmt.Errorf("align: Config.Size, Hop and Offset apply to the sliding policy only, got %v, %v, %v", c.Size, c.Hop, c.Offset)
		}
	case Sliding:
		if c.Numbering == StartMillis {
			return fmt.Errorf("align: Config.Numbering %q applies to the utterance policy only", StartMillis)
		}
	default:
		return fmt.Errorf("align: Config.Policy must be %q or %q, got %q", Utterance, Sliding, c.Policy)
	}
	switch c.Numbering {
	case "", Count, StartMillis:
	default:
		return fmt.Errorf("align: Config.Numbering must be %q or %q, got %q", Count, StartMillis, c.Numbering)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"Size", c.Size}, {"Hop", c.Hop}, {"Offset", c.Offset}, {"AllowedLateness", c.AllowedLateness},
		{"MaxWait", c.MaxWait}, {"IdleTimeout", c.IdleTimeout},
	} {
		if f.v < 0 {
			return fmt.Errorf("align: Config.%s must not be negative, got %v", f.name, f.v)
		}
	}
	if c.MaxBuffered < 0 {
		return fmt.Errorf("align: Config.MaxBuffered must not be negative, got %d", c.MaxBuffered)
	}
	if c.Expect >= 1<<numModalities {
		return fmt.Errorf("align: Config.Expect holds unknown modalities: %08b", uint8(c.Expect))
	}
	d := c.withDefaults()
	if d.Policy == Sliding {
		if d.Hop > d.Size {
			return fmt.Errorf("align: Config.Hop (%v) must not exceed Config.Size (%v)", d.Hop, d.Size)
		}
		if d.Offset >= d.Hop {
			return fmt.Errorf("align: Config.Offset (%v) must be below Config.Hop (%v)", d.Offset, d.Hop)
		}
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Policy == "" {
		c.Policy = DefaultPolicy
	}
	if c.Policy == Sliding {
		if c.Size == 0 {
			c.Size = DefaultSize
		}
		if c.Hop == 0 {
			c.Hop = min(DefaultHop, c.Size)
		}
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Numbering == "" {
		c.Numbering = DefaultNumbering
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
