package align_test

import (
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
)

// FuzzAligner feeds an arbitrary sequence of inputs, clock steps and ticks
// to an Aligner and checks its invariants:
//   - Add fails only with ErrLate or ErrInvalid;
//   - each stream's windows are numbered 0, 1, 2, ... (again from 0 after
//     the stream expired) and sliding windows lie on the configured grid;
//   - every item in a window lies inside it;
//   - after Flush nothing is held, and every accepted media item that fell
//     into no window was counted, as Unused or as Overflow;
//   - Released returns the Ref of every accepted input exactly once, of no
//     rejected one, and never before a window holding the input.
func FuzzAligner(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 10, 1, 0, 10, 2, 0, 5, 20, 3, 0, 20, 5})
	f.Add([]byte{1, 3, 2, 1, 0, 1, 0, 10, 0, 1, 10, 10, 2, 1, 0, 30, 5, 0, 40, 0, 1, 2, 30, 2})
	f.Add([]byte{0, 7, 1, 2, 4, 0, 9, 9, 4, 1, 3, 3, 1, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		c := newClock()
		cfg := align.Config{
			AllowedLateness: time.Duration(data[1]%4) * 50 * ms,
			MaxBuffered:     1 + int(data[2]%32),
			Expect:          align.Modalities(data[3] % 8),
			MaxWait:         time.Second,
			IdleTimeout:     5 * time.Second,
			Now:             c.now,
		}
		if data[0]%2 == 1 {
			cfg.Policy = align.Sliding
			cfg.Size = time.Duration(1+data[0]%5) * 100 * ms
			cfg.Hop = time.Duration(1+data[0]%3) * 50 * ms
			cfg.Hop = min(cfg.Hop, cfg.Size)
		}
		a := newAligner(t, cfg)
		var windows []align.Window
		accepted := map[int]bool{}    // media, by Payload
		acceptedRef := map[int]bool{} // every input, by Ref
		released := map[int]bool{}
		collect := func(ws []align.Window) {
			for _, w := range ws {
				for _, r := range w.Refs {
					if released[r.(int)] {
						t.Fatalf("window %+v holds input %v, released before", w, r)
					}
				}
			}
			windows = append(windows, ws...)
			for _, r := range a.Released() {
				if released[r.(int)] {
					t.Fatalf("input %v released twice", r)
				}
				released[r.(int)] = true
			}
		}
		id := 0
		for op := range chunks(data[4:], 4) {
			kind, stream, at, length := op[0]%7, fmt.Sprint("s", op[1]%3), time.Duration(op[2])*10*ms, int(op[3])
			var in align.Input
			switch kind {
			case 0, 1:
				in = align.Media{StreamID: stream, Modality: align.Audio, Time: at, Samples: make([]float32, 1+length), SampleRate: rate, Payload: id}
			case 2:
				in = align.Media{StreamID: stream, Modality: align.Vision, Time: at, Payload: id}
			case 3, 4:
				in = align.Segment{StreamID: stream, Start: at, End: at + time.Duration(length)*10*ms, Text: "w", Final: kind == 3}
			case 5:
				c.advance(time.Duration(length) * 20 * ms)
				expired := a.Stats().Expired
				collect(a.Tick())
				if a.Stats().Expired != expired {
					// An expired stream that sends again starts
					// afresh, from Seq 0.
					windows = append(windows, align.Window{Seq: restart})
				}
				continue
			case 6:
				in = align.Media{StreamID: stream, Modality: align.Audio, Time: at, SampleRate: rate} // invalid: no samples
			}
			ws, err := a.Add(align.WithRef(in, id))
			switch {
			case err == nil:
				acceptedRef[id] = true
				if m, ok := in.(align.Media); ok {
					accepted[m.Payload.(int)] = true
				}
			case errors.Is(err, align.ErrLate), errors.Is(err, align.ErrInvalid):
			default:
				t.Fatalf("Add(%+v): unexpected error %v", in, err)
			}
			collect(ws)
			id++
		}
		collect(a.Flush())
		if !maps.Equal(released, acceptedRef) {
			t.Fatalf("released %v, want every accepted input once: %v", released, acceptedRef)
		}

		next := map[string]uint64{}
		restarted := map[string]bool{}
		inWindow := map[int]bool{}
		for _, w := range windows {
			if w.Seq == restart {
				clear(restarted)
				continue
			}
			if w.Seq == 0 && !restarted[w.StreamID] {
				restarted[w.StreamID] = true
				next[w.StreamID] = 0
			}
			if w.Seq != next[w.StreamID] {
				t.Fatalf("stream %s: window seq %d, want %d", w.StreamID, w.Seq, next[w.StreamID])
			}
			next[w.StreamID]++
			if cfg.Policy == align.Sliding && (w.End-w.Start != cfg.Size || w.Start%cfg.Hop != 0) {
				t.Fatalf("sliding window [%v, %v) off the grid of %v every %v", w.Start, w.End, cfg.Size, cfg.Hop)
			}
			for _, m := range w.Audio {
				end := m.Time + time.Duration(len(m.Samples))*time.Second/rate
				if m.Time < w.Start || end > w.End || len(m.Samples) == 0 {
					t.Fatalf("window [%v, %v) holds audio [%v, %v)", w.Start, w.End, m.Time, end)
				}
				inWindow[m.Payload.(int)] = true
			}
			for _, m := range w.Vision {
				if m.Time < w.Start || m.Time >= w.End {
					t.Fatalf("window [%v, %v) holds a frame at %v", w.Start, w.End, m.Time)
				}
				inWindow[m.Payload.(int)] = true
			}
			if w.Present == 0 {
				t.Fatalf("empty window emitted: %+v", w)
			}
		}
		st := a.Stats()
		if st.Streams != 0 || st.Buffered != 0 {
			t.Fatalf("after Flush: %d streams, %d buffered", st.Streams, st.Buffered)
		}
		if got := uint64(len(accepted)); st.Media != got {
			t.Fatalf("Stats.Media = %d, accepted %d", st.Media, got)
		}
		for p := range inWindow {
			if !accepted[p] {
				t.Fatalf("item %d in a window was never accepted", p)
			}
		}
		// An item in no window was counted as Unused, or as Overflow; an
		// overflowed item may also have been in a window before it was
		// dropped.
		if missed := st.Media - uint64(len(inWindow)); missed < st.Unused || missed > st.Unused+st.Overflow {
			t.Fatalf("%d accepted items in no window, want between %d unused and %d unused + %d overflow", missed, st.Unused, st.Unused, st.Overflow)
		}
	})
}

// restart marks, in the list of windows, a Tick that expired streams.
const restart = ^uint64(0)

// chunks yields the successive n-byte chunks of b, dropping a short tail.
func chunks(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for ; len(b) >= n; b = b[n:] {
			if !yield(b[:n]) {
				return
			}
		}
	}
}
