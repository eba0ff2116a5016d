package align

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// stream is the state of one stream. Its methods are called with the
// Aligner's mutex held.
type stream struct {
	id   string
	seen Modalities
	// wm is the watermark of each modality in seen: the furthest End of
	// its media items, or End of its final segments.
	wm [numModalities]time.Duration
	// ahead is, per modality, the furthest time before which no further
	// item can start, as the items' Interval announces it (never behind
	// wm once an item announced one); windows ending by then are complete.
	ahead [numModalities]time.Duration
	// last is when the stream last had input, on the clock Config.Now.
	last time.Time
	// media holds the buffered audio and vision items, each in Time order.
	media [numModalities][]item
	// pending holds the windows waiting for their watermarks, in emission
	// order.
	pending []pending
	// draft is the latest interim segment (utterance policy).
	draft *Segment
	// segs holds the final segments in Start order (sliding policy).
	segs []Segment
	// emittedTo is the furthest end of the windows emitted so far: a
	// media item before the frontier that starts before it missed its
	// window (late); one that starts after it fell between windows.
	emittedTo time.Duration
	// nextK is the index of the next sliding window to open.
	nextK int64
	// seq is the Seq of the next window (Count numbering).
	seq uint64
	// origin is the latest Origin an input of the stream carried.
	origin time.Time
}

// item is a buffered media item.
type item struct {
	Media
	// used is set once the item fell into a window.
	used bool
}

// pending is a window waiting to be emitted.
type pending struct {
	start, end time.Duration
	// seg is the utterance's segment (utterance policy).
	seg Segment
	// since is when the window fell due, on the clock Config.Now.
	since time.Time
}

// insert adds m to its modality's buffer, keeping Time order; items that
// share a Time keep their arrival order.
func (s *stream) insert(m Media) {
	list := s.media[m.Modality]
	if n := len(list); n == 0 || list[n-1].Time <= m.Time {
		s.media[m.Modality] = append(list, item{Media: m})
		return
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].Time > m.Time })
	s.media[m.Modality] = slices.Insert(list, i, item{Media: m})
}

// buffered returns the number of media items buffered.
func (s *stream) buffered() int { return len(s.media[Audio]) + len(s.media[Vision]) }

// dropOldest drops the buffered media item with the earliest Time, audio
// first on a tie, and returns its Ref.
func (s *stream) dropOldest() (ref any) {
	m := Audio
	if a, v := s.media[Audio], s.media[Vision]; len(a) == 0 || (len(v) > 0 && v[0].Time < a[0].Time) {
		m = Vision
	}
	ref = s.media[m][0].Ref
	s.media[m][0] = item{}
	s.media[m] = s.media[m][1:]
	return ref
}

// bounds returns the span of sliding window k.
func (a *Aligner) bounds(k int64) (start, end time.Duration) {
	start = a.cfg.Offset + time.Duration(k)*a.cfg.Hop
	return start, start + a.cfg.Size
}

// firstEndingAfter returns the index of the first sliding window that ends
// after t.
func (a *Aligner) firstEndingAfter(t time.Duration) int64 {
	d := int64(t - a.cfg.Offset - a.cfg.Size)
	hop := int64(a.cfg.Hop)
	k := d / hop
	if d < 0 && d%hop != 0 {
		k-- // floor division
	}
	return max(k+1, 0)
}

// open makes pending the sliding windows of s that fell due: those whose end
// plus the allowed lateness some watermark passed, or, when force is set,
// every window holding buffered data. Windows holding no data at all are
// skipped.
func (a *Aligner) open(s *stream, now time.Time, force bool) {
	limit := time.Duration(math.MaxInt64)
	if !force {
		if s.seen == 0 {
			return
		}
		var maxWM time.Duration
		for m := range numModalities {
			if s.seen.Has(m) {
				maxWM = max(maxWM, s.wm[m])
			}
		}
		limit = maxWM - a.cfg.AllowedLateness
	}
	for {
		start, end := a.bounds(s.nextK)
		if end > limit {
			return
		}
		t, ok := s.dataFrom(start)
		switch {
		case ok && t < end:
			s.pending = append(s.pending, pending{start: start, end: end, since: now})
			s.nextK++
		case ok:
			s.nextK = a.firstEndingAfter(t)
		default:
			if !force {
				s.nextK = max(s.nextK, a.firstEndingAfter(limit))
			}
			return
		}
	}
}

// dataFrom returns the earliest event time at or after t at which a buffered
// media item or final segment of s has data.
func (s *stream) dataFrom(t time.Duration) (first time.Duration, ok bool) {
	consider := func(x time.Duration) {
		if !ok || x < first {
			first, ok = x, true
		}
	}
	for _, it := range s.media[Audio] {
		if it.End() > t {
			consider(max(it.Time, t))
			break
		}
	}
	for _, it := range s.media[Vision] {
		if it.Time >= t {
			consider(it.Time)
			break
		}
	}
	for _, g := range s.segs {
		if !before(g.Start, g.End, t) {
			consider(max(g.Start, t))
			break
		}
	}
	return first, ok
}

// build assembles the window p of s and marks its media used.
func (a *Aligner) build(s *stream, p pending) Window {
	w := Window{StreamID: s.id, Kind: a.cfg.Policy, Start: p.start, End: p.end, Origin: s.origin}
	ref := func(r any) {
		if r != nil {
			w.Refs = append(w.Refs, r)
		}
	}
	if a.cfg.Policy == Utterance {
		w.Speaker, w.Lang, w.Text = p.seg.Speaker, p.seg.Lang, p.seg.Text
		ref(p.seg.Ref)
	} else {
		var texts []string
		var most time.Duration = -1
		for _, g := range s.segs {
			if g.Start >= p.end {
				break
			}
			if !overlaps(g.Start, g.End, p.start, p.end) {
				continue
			}
			if g.Text != "" {
				// A segment without text (its speaker's text was
				// withheld, for privacy) still counts for the speaker.
				texts = append(texts, g.Text)
			}
			ref(g.Ref)
			if o := min(g.End, p.end) - max(g.Start, p.start); o > most {
				most = o
				w.Speaker, w.Lang = g.Speaker, g.Lang
			}
		}
		w.Text = strings.Join(texts, " ")
	}
	audio, vision := s.media[Audio], s.media[Vision]
	// The buffers are in Time order: audio[:a1] and vision[v0:v1] hold the
	// items that can fall into the window. Chunks may overlap, so their
	// ends need not be in order: the audio is scanned from the head, which
	// pruning keeps near the window.
	a1 := sort.Search(len(audio), func(i int) bool { return audio[i].Time >= p.end })
	v1 := sort.Search(len(vision), func(i int) bool { return vision[i].Time >= p.end })
	v0 := sort.Search(v1, func(i int) bool { return vision[i].Time >= p.start })
	if a1 > 0 {
		w.Audio = make([]Media, 0, a1)
	}
	for i := range audio[:a1] {
		if c, ok := trim(audio[i].Media, p.start, p.end); ok {
			w.Audio = append(w.Audio, c)
			audio[i].used = true
			ref(c.Ref)
		}
	}
	if v0 < v1 {
		w.Vision = make([]Media, v1-v0)
	}
	for i := v0; i < v1; i++ {
		w.Vision[i-v0] = vision[i].Media
		vision[i].used = true
		ref(vision[i].Ref)
	}
	if w.Text != "" {
		w.Present = w.Present.With(Text)
	}
	if len(w.Audio) > 0 {
		w.Present = w.Present.With(Audio)
	}
	if len(w.Vision) > 0 {
		w.Present = w.Present.With(Vision)
	}
	return w
}

// trim returns the part of audio chunk m whose samples lie in [start, end):
// sample i lies at m.Time + i/SampleRate. ok is false when none does. The
// returned samples share memory with m's, capped so that appending to them
// cannot overwrite m.
func trim(m Media, start, end time.Duration) (Media, bool) {
	n := int64(len(m.Samples))
	rate := int64(m.SampleRate)
	chunkEnd := m.End()
	index := func(t time.Duration) int64 {
		switch {
		case t <= m.Time:
			return 0
		case t >= chunkEnd:
			return n
		}
		// t-m.Time is below the chunk's duration, n/rate seconds, so
		// the product stays below n*1e9.
		return min(ceilDiv(int64(t-m.Time)*rate, int64(time.Second)), n)
	}
	first, last := index(start), index(end)
	if first >= last {
		return Media{}, false
	}
	m.Samples = m.Samples[first:last:last]
	m.Time += time.Duration(first * int64(time.Second) / rate)
	return m, true
}

// ceilDiv returns x/d rounded up, for x >= 0 and d > 0.
func ceilDiv(x, d int64) int64 { return (x + d - 1) / d }
