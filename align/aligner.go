package align

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Stats counts what an Aligner did. The counters only grow; Streams and
// Buffered are the current values.
type Stats struct {
	// Streams is the number of streams held now.
	Streams int
	// Buffered is the number of media items buffered now, over all streams.
	Buffered int
	// Media counts the media items accepted by Add.
	Media uint64
	// Segments counts the transcript segments accepted by Add.
	Segments uint64
	// Windows counts the windows emitted, Forced ones included.
	Windows uint64
	// Forced counts the windows emitted before every awaited watermark
	// passed their end (MaxWait, Flush, or an expired stream).
	Forced uint64
	// Late counts the items dropped as late (Add returned ErrLate).
	Late uint64
	// Overflow counts the media items dropped because their stream buffered
	// more than Config.MaxBuffered.
	Overflow uint64
	// Unused counts the media items discarded without falling into any
	// window, such as audio between two utterances.
	Unused uint64
	// Expired counts the streams flushed and removed after IdleTimeout.
	Expired uint64
	// Ended counts the streams flushed and removed by End.
	Ended uint64
	// Discarded counts the media items an expired stream still held and
	// no window used (also counted in Unused): input lost because the
	// stream went quiet, such as audio whose transcript never came.
	Discarded uint64
	// Invalid counts the inputs rejected with ErrInvalid.
	Invalid uint64
}

// Aligner cuts streams of media items and transcript segments into windows.
// Build one with New. An Aligner is safe for concurrent use: every method
// holds one mutex, and none of them blocks otherwise.
type Aligner struct {
	cfg Config

	mu      sync.Mutex
	streams map[string]*stream
	stats   Stats
	// released collects the non-nil Refs of the inputs let go of.
	released []any
}

// New returns an Aligner for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Aligner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Aligner{cfg: cfg.withDefaults(), streams: map[string]*stream{}}, nil
}

// Add takes one input, a Media, a Segment or an End (or a pointer to one),
// and returns the windows of its stream that became ready, in sequence
// order: for an End, every window the stream still held (see End). It returns an error
// wrapping ErrInvalid for a malformed input and one wrapping ErrLate for a
// late one; either input is dropped and counted in Stats.
func (a *Aligner) Add(in Input) ([]Window, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	switch v := in.(type) {
	case Media:
		return a.addMedia(v, now)
	case *Media:
		if v != nil {
			return a.addMedia(*v, now)
		}
	case Segment:
		return a.addSegment(v, now)
	case *Segment:
		if v != nil {
			return a.addSegment(*v, now)
		}
	case End:
		return a.addEnd(v, now)
	case *End:
		if v != nil {
			return a.addEnd(*v, now)
		}
	}
	a.stats.Invalid++
	return nil, fmt.Errorf("%w: input of type %T", ErrInvalid, in)
}

// Tick emits the windows that waited Config.MaxWait since they fell due, and
// flushes and removes the streams idle for Config.IdleTimeout, both on the
// clock Config.Now. Call it periodically, for instance every 100 ms. Windows
// are grouped by stream, streams in id order.
func (a *Aligner) Tick() []Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	return a.sweep(now, true, func(s *stream) bool {
		if now.Sub(s.last) < a.cfg.IdleTimeout {
			return false
		}
		a.stats.Expired++
		return true
	})
}

// Flush emits every window still held, at the end of input: pending windows,
// a draft utterance (treated as final), and the sliding windows holding
// buffered items, marking Forced those whose watermarks had not passed. It
// then forgets every stream. Windows are grouped by stream, streams in id
// order.
func (a *Aligner) Flush() []Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sweep(a.cfg.Now(), false, func(*stream) bool { return true })
}

// End emits every window stream id still holds, as Flush does for every
// stream: its pending windows, a draft utterance (treated as final) and the
// sliding windows holding buffered items, marking Forced those whose
// watermarks had not passed. It then forgets the stream, so its last
// windows come out when it ends instead of Config.IdleTimeout later. An
// input of the stream that arrives afterwards starts it afresh. End of a
// stream the Aligner does not hold returns nil.
func (a *Aligner) End(id string) []Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.end(id, a.cfg.Now())
}

// end flushes and removes stream id, if held.
func (a *Aligner) end(id string, now time.Time) []Window {
	s, ok := a.streams[id]
	if !ok {
		return nil
	}
	out := a.step(s, now, true)
	a.remove(s, false)
	a.stats.Ended++
	return out
}

// addEnd ends the stream of e and releases its Ref at once.
func (a *Aligner) addEnd(e End, now time.Time) ([]Window, error) {
	if e.StreamID == "" {
		a.stats.Invalid++
		return nil, fmt.Errorf("%w: end of stream without stream id", ErrInvalid)
	}
	out := a.end(e.StreamID, now)
	a.release(e.Ref)
	return out, nil
}

// sweep steps every stream in id order; the streams for which end reports
// true are flushed and removed, as expired ones when expired is set.
func (a *Aligner) sweep(now time.Time, expired bool, end func(*stream) bool) []Window {
	var out []Window
	for _, id := range slices.Sorted(maps.Keys(a.streams)) {
		s := a.streams[id]
		done := end(s)
		out = append(out, a.step(s, now, done)...)
		if done {
			a.remove(s, expired)
		}
	}
	return out
}

// Released returns the non-nil Refs of the inputs the Aligner let go of since
// the last call, and forgets them: media items pruned (whether or not they
// fell into a window), dropped by the MaxBuffered cap, or dropped with an
// expired, ended or flushed stream; an End once Add returned; transcript segments once their window was
// emitted or, for the sliding policy, pruned; interim segments once replaced
// (and, with the sliding policy, at once). Each Ref comes back exactly once,
// after every window holding its input was returned. An input for which Add
// returned an error is not kept and its Ref never comes back. A caller that
// sets Refs must call Released regularly, since they pile up until then;
// Refs are what a pipeline Retainer needs to acknowledge an input only once
// the windows built from it were delivered.
func (a *Aligner) Released() []any {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.released
	a.released = nil
	return r
}

// release records that the input with ref was let go of.
func (a *Aligner) release(ref any) {
	if ref != nil {
		a.released = append(a.released, ref)
	}
}

// Needs reports whether a frame or chunk of stream at event time t may
// still fall into a window whose speaker scored accepts, so that its
// features are worth computing. Under the utterance policy it is false
// when t lies before the stream's text watermark minus the allowed
// lateness (so no segment to come can cover t: it would be late) and no
// pending window of a segment whose speaker scored accepts covers t (a
// draft cannot: a final segment that moves the watermark past a draft's
// start drops the draft); otherwise, and under the sliding policy, it is
// true. The answer stays right while the item is on its way: the
// watermark only grows, and a window emitted meanwhile would find the
// item late.
func (a *Aligner) Needs(stream string, t time.Duration, scored func(speaker string) bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.streams[stream]
	if a.cfg.Policy != Utterance || !ok || !s.seen.Has(Text) || t >= s.wm[Text]-a.cfg.AllowedLateness {
		return true
	}
	return slices.ContainsFunc(s.pending, func(p pending) bool { return scored(p.seg.Speaker) && p.start <= t && t < p.end })
}

// Stats returns a snapshot of the counters.
func (a *Aligner) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.stats
	st.Streams = len(a.streams)
	return st
}

// stream returns the state of stream id, creating it, marks it active and
// records origin, unless zero, as its wall-clock origin.
func (a *Aligner) stream(id string, origin, now time.Time) *stream {
	s, ok := a.streams[id]
	if !ok {
		s = &stream{id: id}
		a.streams[id] = s
	}
	s.last = now
	if !origin.IsZero() {
		s.origin = origin
	}
	return s
}

// remove forgets s, counting its items that fell into no window (as
// Discarded too when the stream expired) and releasing everything it held.
func (a *Aligner) remove(s *stream, expired bool) {
	discarded := 0
	for _, m := range []Modality{Audio, Vision} {
		for _, it := range s.media[m] {
			if !it.used {
				a.stats.Unused++
				if expired {
					a.stats.Discarded++
					discarded++
				}
			}
			a.release(it.Ref)
		}
		a.stats.Buffered -= len(s.media[m])
	}
	for _, g := range s.segs {
		a.release(g.Ref)
	}
	for _, p := range s.pending {
		a.release(p.seg.Ref)
	}
	if s.draft != nil {
		a.release(s.draft.Ref)
	}
	if discarded > 0 && a.cfg.OnDrop != nil {
		a.cfg.OnDrop(s.id, discarded, "expired")
	}
	delete(a.streams, s.id)
}

// late counts a late item and returns its error.
func (a *Aligner) late(what, stream string, at time.Duration) error {
	a.stats.Late++
	return fmt.Errorf("%w: %s of stream %q at %v", ErrLate, what, stream, at)
}

func (a *Aligner) addMedia(m Media, now time.Time) ([]Window, error) {
	if err := m.validate(); err != nil {
		a.stats.Invalid++
		return nil, err
	}
	s := a.stream(m.StreamID, m.Origin, now)
	if s.seen.Has(m.Modality) && m.Time < s.wm[m.Modality]-a.cfg.AllowedLateness {
		return nil, a.late(m.Modality.String()+" item", s.id, m.Time)
	}
	if f, ok := a.frontier(s); ok && before(m.Time, m.End(), f) {
		if m.Time < s.emittedTo {
			// It belonged to a window already emitted without it.
			return nil, a.late(m.Modality.String()+" item", s.id, m.Time)
		}
		// It lies between the emitted windows and the next one (audio or
		// a frame between two utterances): in time, but no window takes
		// it. Such an item is unused, as when pruned, not late.
		a.stats.Media++
		a.stats.Unused++
		a.advance(s, m)
		a.release(m.Ref)
		return a.step(s, now, false), nil
	}
	a.stats.Media++
	a.stats.Buffered++
	s.insert(m)
	a.advance(s, m)
	for s.buffered() > a.cfg.MaxBuffered {
		a.release(s.dropOldest())
		a.stats.Overflow++
		a.stats.Buffered--
		if a.cfg.OnDrop != nil {
			a.cfg.OnDrop(s.id, 1, "overflow")
		}
	}
	return a.step(s, now, false), nil
}

// advance moves the watermarks of s with the media item m.
func (a *Aligner) advance(s *stream, m Media) {
	s.seen = s.seen.With(m.Modality)
	s.wm[m.Modality] = max(s.wm[m.Modality], m.End())
	s.ahead[m.Modality] = max(s.ahead[m.Modality], s.wm[m.Modality], m.Time+m.Interval)
}

func (a *Aligner) addSegment(g Segment, now time.Time) ([]Window, error) {
	if err := g.validate(); err != nil {
		a.stats.Invalid++
		return nil, err
	}
	s := a.stream(g.StreamID, g.Origin, now)
	if s.seen.Has(Text) && g.Start < s.wm[Text]-a.cfg.AllowedLateness {
		return nil, a.late("segment", s.id, g.Start)
	}
	if f, ok := a.frontier(s); ok && before(g.Start, g.End, f) {
		return nil, a.late("segment", s.id, g.Start)
	}
	a.stats.Segments++
	if !g.Final {
		// Sliding windows take their text from final segments only.
		if a.cfg.Policy == Utterance {
			if s.draft != nil {
				a.release(s.draft.Ref)
			}
			s.draft = &g
		} else {
			a.release(g.Ref)
		}
		return a.step(s, now, false), nil
	}
	if a.cfg.Policy == Utterance {
		s.pending = append(s.pending, pending{start: g.Start, end: g.End, seg: g, since: now})
		if s.draft != nil && s.draft.Start < g.End {
			a.release(s.draft.Ref)
			s.draft = nil
		}
	} else {
		i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].Start > g.Start })
		s.segs = slices.Insert(s.segs, i, g)
	}
	s.seen = s.seen.With(Text)
	s.wm[Text] = max(s.wm[Text], g.End)
	return a.step(s, now, false), nil
}

// step opens the sliding windows that fell due, emits the pending windows
// that are ready (all of them when force is set: Flush or expiry) and prunes
// what no future window can need.
func (a *Aligner) step(s *stream, now time.Time, force bool) []Window {
	if a.cfg.Policy == Sliding {
		a.open(s, now, force)
	} else if force && s.draft != nil {
		s.pending = append(s.pending, pending{start: s.draft.Start, end: s.draft.End, seg: *s.draft, since: now})
		s.draft = nil
	}
	var out []Window
	for len(s.pending) > 0 {
		p := s.pending[0]
		ready := a.ready(s, p.end)
		if !ready && !force && now.Sub(p.since) < a.cfg.MaxWait {
			break
		}
		s.pending[0] = pending{}
		s.pending = s.pending[1:]
		s.emittedTo = max(s.emittedTo, p.end)
		w := a.build(s, p)
		a.release(p.seg.Ref) // an utterance's segment serves one window
		if w.Present == 0 {
			continue
		}
		w.Forced = !ready
		w.Seq = a.number(s, p)
		a.stats.Windows++
		if w.Forced {
			a.stats.Forced++
		}
		out = append(out, w)
	}
	a.prune(s)
	return out
}

// number returns the Seq of the next window of s, made from p, as
// Config.Numbering says.
func (a *Aligner) number(s *stream, p pending) uint64 {
	if a.cfg.Numbering != StartMillis {
		s.seq++
		return s.seq - 1
	}
	if p.seg.WallClock {
		return uint64(p.seg.Origin.Add(p.seg.Start).UnixMilli())
	}
	return uint64(p.seg.Start / time.Millisecond)
}

// ready reports whether the watermarks of every awaited modality of s, or
// the times their items announced no further item before (Media.Interval),
// passed end plus the allowed lateness.
func (a *Aligner) ready(s *stream, end time.Duration) bool {
	awaited := s.seen | a.cfg.Expect
	if a.cfg.Policy == Utterance {
		awaited &^= Of(Text)
	}
	for m := range numModalities {
		if awaited.Has(m) && (!s.seen.Has(m) || max(s.wm[m], s.ahead[m]) < end+a.cfg.AllowedLateness) {
			return false
		}
	}
	return true
}

// frontier returns the event time before which no window of s that is yet
// to be emitted can start; ok is false while the utterance policy has no
// text to bound it.
func (a *Aligner) frontier(s *stream) (f time.Duration, ok bool) {
	if a.cfg.Policy == Sliding {
		if len(s.pending) > 0 {
			return s.pending[0].start, true
		}
		start, _ := a.bounds(s.nextK)
		return start, true
	}
	lower := func(t time.Duration) {
		if !ok || t < f {
			f, ok = t, true
		}
	}
	if s.seen.Has(Text) {
		lower(s.wm[Text] - a.cfg.AllowedLateness)
	}
	if s.draft != nil {
		lower(s.draft.Start)
	}
	for _, p := range s.pending {
		lower(p.start)
	}
	return f, ok
}

// prune discards the media and segments of s that lie before its frontier,
// counting the media items that fell into no window.
func (a *Aligner) prune(s *stream) {
	f, ok := a.frontier(s)
	if !ok {
		return
	}
	for _, m := range []Modality{Audio, Vision} {
		list := s.media[m]
		n := 0
		for n < len(list) && before(list[n].Time, list[n].End(), f) {
			if !list[n].used {
				a.stats.Unused++
			}
			a.release(list[n].Ref)
			n++
		}
		// Shifting keeps the buffer's capacity, so a steady stream
		// appends without allocating.
		s.media[m] = slices.Delete(list, 0, n)
		a.stats.Buffered -= n
	}
	n := 0
	for n < len(s.segs) && before(s.segs[n].Start, s.segs[n].End, f) {
		a.release(s.segs[n].Ref)
		n++
	}
	s.segs = slices.Delete(s.segs, 0, n)
}

// before reports whether the span [t0, t1) lies wholly before f; an empty
// span is the point t0.
func before(t0, t1, f time.Duration) bool {
	if t1 <= t0 {
		return t0 < f
	}
	return t1 <= f
}

// overlaps reports whether the span [t0, t1) meets [start, end); an empty
// span is the point t0.
func overlaps(t0, t1, start, end time.Duration) bool {
	if t1 <= t0 {
		return start <= t0 && t0 < end
	}
	return t0 < end && t1 > start
}
