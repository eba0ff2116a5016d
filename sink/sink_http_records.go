package sink

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// The defaults of HTTPConfig's history.
const (
	// DefaultHistory is the default number of records kept per stream for
	// clients that connect later.
	DefaultHistory = 64
	// DefaultHistoryStreams is the default bound on the streams whose
	// history is kept.
	DefaultHistoryStreams = 256
)

// Publish sends records (summaries, alerts) to the SSE clients like Write
// sends events, with the SSE type "call_summary" or "alert", the record's id
// as the SSE id and its JSON as the data; they enter the streams' history.
func (h *HTTP) Publish(ctx context.Context, records []event.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: http: %w", err)
	}
	now := time.Now()
	frames := make([]frame, len(records))
	for i, r := range records {
		data, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("sink: http: %q: %w", r.RecordID(), err)
		}
		b := fmt.Appendf(nil, "id: %s\nevent: %s\ndata: ", sseValue(r.RecordID()), sseType(r))
		frames[i] = frame{data: append(append(b, data...), "\n\n"...), at: now, stream: r.RecordStream()}
	}
	return h.broadcast(frames)
}

// broadcast records frames in the history and queues them for every
// client, disconnecting the clients whose queue is full.
func (h *HTTP) broadcast(frames []frame) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	h.history.add(frames)
	for c := range h.clients {
		if missed, ok := c.push(frames, h.cfg.ClientBuffer); !ok {
			delete(h.clients, c)
			h.evicted.Inc()
			h.dropped.Add(float64(missed))
		}
	}
	h.connected.Set(float64(len(h.clients)))
	return nil
}

// history keeps the last n frames of each of at most streams streams, for
// the SSE clients that connect later. Not safe for concurrent use: the
// HTTP sink guards it with its mutex.
type history struct {
	n, streams int
	seq        uint64 // numbers the frames in the order written
	rings      map[string]*historyRing
}

// historyRing is one stream's last frames, oldest first.
type historyRing struct {
	frames []frame
	seqs   []uint64
	last   uint64 // seq of the newest frame
}

func newHistory(n, streams int) *history {
	return &history{n: n, streams: streams, rings: map[string]*historyRing{}}
}

// add records frames in order, forgetting the least recently updated
// stream when there are too many.
func (h *history) add(frames []frame) {
	for _, f := range frames {
		h.seq++
		r := h.rings[f.stream]
		if r == nil {
			if len(h.rings) >= h.streams {
				h.evict()
			}
			r = &historyRing{}
			h.rings[f.stream] = r
		}
		if len(r.frames) == h.n {
			r.frames, r.seqs = r.frames[1:], r.seqs[1:]
		}
		r.frames, r.seqs, r.last = append(r.frames, f), append(r.seqs, h.seq), h.seq
	}
}

func (h *history) evict() {
	var oldest string
	var at uint64
	for id, r := range h.rings {
		if oldest == "" || r.last < at {
			oldest, at = id, r.last
		}
	}
	delete(h.rings, oldest)
}

// replay returns the frames kept, in the order they were written, as one
// buffer.
func (h *history) replay() []byte {
	type entry struct {
		seq uint64
		f   frame
	}
	var all []entry
	for _, r := range h.rings {
		for i, f := range r.frames {
			all = append(all, entry{r.seqs[i], f})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	var buf []byte
	for _, e := range all {
		buf = append(buf, e.f.data...)
	}
	return buf
}
