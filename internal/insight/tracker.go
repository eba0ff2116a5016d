package insight

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// Publisher delivers summaries and alerts: the record sinks (stdout,
// Kafka, HTTP, webhook). Publish must be safe for concurrent use.
type Publisher interface {
	Publish(ctx context.Context, records []event.Record) error
}

// Config configures a Tracker. Zero values mean the defaults.
type Config struct {
	// Rules are the alert rules; each is checked with ParseRule.
	Rules []Rule
	// IdleTimeout ends a stream without events for this long, on the
	// clock Now. Default 2m.
	IdleTimeout time.Duration
	// EndGrace is how long after EndStream the stream's last windows may
	// still arrive (they are in the aligner and the scorer) before its
	// summary is published. Default 5s.
	EndGrace time.Duration
	// MaxWindows bounds the windows kept per stream (about 100 bytes each
	// plus the event id): a stream that reaches it is summarised with
	// reason window_limit and starts a new summary. Default 50,000
	// (14 hours at one window a second).
	MaxWindows int
	// Tick is the interval at which a Tracker checks idle and ended
	// streams in the background. Default 1s; negative: no background
	// goroutine (call Tick).
	Tick time.Duration
	// Now is the clock of the timeouts. Default time.Now.
	Now func() time.Time
	// Logger receives publishing failures. Default: discarded.
	Logger *slog.Logger
}

// The defaults of Config.
const (
	// DefaultIdleTimeout is the default Config.IdleTimeout.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultEndGrace is the default Config.EndGrace.
	DefaultEndGrace = 5 * time.Second
	// DefaultMaxWindows is the default Config.MaxWindows.
	DefaultMaxWindows = 50_000
	// DefaultTick is the default Config.Tick.
	DefaultTick = time.Second
)

// Validate checks the rules (names unique) and that no duration or count
// is negative.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range c.Rules {
		if _, err := ParseRule(r); err != nil {
			errs = append(errs, fmt.Errorf("rules[%d]: %w", i, err))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("rules[%d]: %w: name %q used twice", i, ErrRule, r.Name))
		}
		seen[r.Name] = true
	}
	if c.IdleTimeout < 0 || c.EndGrace < 0 || c.MaxWindows < 0 {
		errs = append(errs, errors.New("insight: negative idle timeout, end grace or max windows"))
	}
	return errors.Join(errs...)
}

// Tracker keeps per stream and speaker the windows that summaries and
// rules need, fires the rules on each event and publishes a summary when a
// stream ends. It is the pipeline's sink of events (Write, Close) and safe
// for concurrent use.
type Tracker struct {
	cfg   Config
	rules []Rule
	outs  []Publisher
	stop  chan struct{}
	done  chan struct{}

	failed    atomic.Int64
	alerts    atomic.Int64
	summaries atomic.Int64

	mu      sync.Mutex
	streams map[string]*stream
	closed  bool
}

// stream is the state of one stream.
type stream struct {
	speakers []string            // in order of first appearance
	windows  map[string][]window // per speaker, in order
	n        int
	last     time.Time // on the clock Now, when the last event came
	endAt    time.Time // when EndStream asked, plus EndGrace; zero otherwise
	// rules holds, per rule and speaker, the recent windows and whether
	// the rule is firing.
	rules map[ruleKey]*ruleState
}

type ruleKey struct {
	rule    int
	speaker string
}

type ruleState struct {
	recent []window
	firing bool
}

// New returns a Tracker publishing to outs, and starts its background
// check unless cfg.Tick is negative.
func New(cfg Config, outs ...Publisher) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.EndGrace = cmp.Or(cfg.EndGrace, DefaultEndGrace)
	cfg.MaxWindows = cmp.Or(cfg.MaxWindows, DefaultMaxWindows)
	cfg.Tick = cmp.Or(cfg.Tick, DefaultTick)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{cfg: cfg, outs: outs, streams: map[string]*stream{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, r := range cfg.Rules {
		p, _ := ParseRule(r) // checked by Validate
		t.rules = append(t.rules, p)
	}
	if cfg.Tick > 0 {
		go t.loop()
	} else {
		close(t.done)
	}
	return t, nil
}

func (t *Tracker) loop() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.Tick(context.Background())
		}
	}
}

// Write records the events, evaluates the rules and publishes the alerts
// that fired. A publisher's failure is logged and counted (Failed), not
// returned: the events themselves were delivered, and the publishers retry
// and dead-letter on their own.
func (t *Tracker) Write(ctx context.Context, events []event.Event) error {
	var out []event.Record
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errors.New("insight: tracker closed")
	}
	now := t.cfg.Now()
	for i := range events {
		out = append(out, t.observe(&events[i], now)...)
	}
	t.mu.Unlock()
	t.publish(ctx, out)
	return nil
}

// observe records one event and returns the alerts and summaries it causes.
func (t *Tracker) observe(e *event.Event, now time.Time) []event.Record {
	var out []event.Record
	s := t.stream(e.StreamID)
	w := window{id: e.EventID, start: e.Window.Start, end: e.Window.End, label: e.Label, score: e.Score, conflict: e.Consensus.Conflict}
	for i, m := range e.Modalities.All() {
		w.disagree[i] = m.Present && m.Agrees != nil && !*m.Agrees
	}
	if _, ok := s.windows[e.Speaker]; !ok {
		s.speakers = append(s.speakers, e.Speaker)
	}
	s.windows[e.Speaker] = append(s.windows[e.Speaker], w)
	s.n++
	s.last = now
	for i, r := range t.rules {
		if r.Speaker != "" && r.Speaker != e.Speaker {
			continue
		}
		k := ruleKey{i, e.Speaker}
		st := s.rules[k]
		if st == nil {
			st = &ruleState{}
			s.rules[k] = st
		}
		st.recent = trim(append(st.recent, w), r.cond)
		ok, ids, value := r.cond.eval(st.recent)
		if ok && !st.firing {
			out = append(out, &event.Alert{Schema: event.AlertSchema, AlertID: event.AlertID(r.Name, w.id), Rule: r.Name,
				Condition: r.When, StreamID: e.StreamID, Speaker: e.Speaker, At: w.end, EventIDs: ids, Value: value})
		}
		st.firing = ok
	}
	if s.n >= t.cfg.MaxWindows {
		out = t.end(out, e.StreamID, event.WindowLimit)
	}
	return out
}

// trim drops the windows a condition no longer needs.
func trim(h []window, c condition) []window {
	n, span := c.keep()
	cut := max(0, len(h)-n)
	if span > 0 {
		newest := h[len(h)-1].end
		cut = slices.IndexFunc(h, func(w window) bool { return newest.Sub(w.end) <= span })
	}
	if cut > 0 {
		h = append(h[:0], h[cut:]...)
	}
	return h
}

// EndStream marks a stream as ended, as by a Kafka end-of-call marker: its
// summary is published EndGrace later (by Tick), so that the windows still
// in the pipeline (the marker usually overtakes them) count. A stream
// without any event by then has no summary.
func (t *Tracker) EndStream(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stream(id)
	if s.endAt.IsZero() {
		s.endAt = t.cfg.Now().Add(t.cfg.EndGrace)
		s.last = t.cfg.Now()
	}
}

// stream returns the state of stream id, creating it.
func (t *Tracker) stream(id string) *stream {
	s := t.streams[id]
	if s == nil {
		s = &stream{windows: map[string][]window{}, rules: map[ruleKey]*ruleState{}}
		t.streams[id] = s
	}
	return s
}

// Tick publishes the summaries of the streams idle for IdleTimeout and of
// those whose EndGrace has passed. The background goroutine calls it every
// Config.Tick.
func (t *Tracker) Tick(ctx context.Context) {
	var out []event.Record
	t.mu.Lock()
	now := t.cfg.Now()
	for _, id := range slices.Sorted(maps.Keys(t.streams)) {
		s := t.streams[id]
		switch {
		case !s.endAt.IsZero() && !now.Before(s.endAt):
			out = t.end(out, id, event.EndOfCall)
		case now.Sub(s.last) >= t.cfg.IdleTimeout:
			out = t.end(out, id, event.Idle)
		}
	}
	t.mu.Unlock()
	t.publish(ctx, out)
}

// end removes a stream and appends its summary to out, if it had windows.
func (t *Tracker) end(out []event.Record, id string, reason event.EndReason) []event.Record {
	s := t.streams[id]
	delete(t.streams, id)
	if s.n == 0 {
		return out
	}
	return append(out, summary(id, s.speakers, s.windows, reason))
}

// Close stops the background check and publishes the summaries of the
// streams still open, as ended with their input (a file, a WebSocket, the
// pipeline stopping). Register the Tracker before the sinks it publishes
// to: the pipeline closes its sinks in order.
func (t *Tracker) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	var out []event.Record
	for _, id := range slices.Sorted(maps.Keys(t.streams)) {
		out = t.end(out, id, event.EndOfInput)
	}
	t.mu.Unlock()
	if t.cfg.Tick > 0 {
		close(t.stop)
	}
	<-t.done
	t.publish(ctx, out)
	return nil
}

// Failed returns how many times a publisher failed to take records.
func (t *Tracker) Failed() int64 { return t.failed.Load() }

// Alerts returns the number of alerts fired.
func (t *Tracker) Alerts() int64 { return t.alerts.Load() }

// Summaries returns the number of call summaries made.
func (t *Tracker) Summaries() int64 { return t.summaries.Load() }

// publish hands recs to every publisher, logging and counting failures.
func (t *Tracker) publish(ctx context.Context, recs []event.Record) {
	if len(recs) == 0 {
		return
	}
	for _, r := range recs {
		switch r.(type) {
		case *event.Alert:
			t.alerts.Add(1)
		case *event.CallSummary:
			t.summaries.Add(1)
		}
	}
	for _, o := range t.outs {
		if err := o.Publish(ctx, recs); err != nil {
			t.failed.Add(1)
			t.cfg.Logger.Warn("insight: publish", "records", len(recs), "first", recs[0].RecordID(), "err", err)
		}
	}
}
