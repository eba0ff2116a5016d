package app

import (
	"log/slog"
	"sync"
	"time"
)

// dropLogEvery is the shortest interval between two log lines about media
// the aligner dropped: a stream overflowing its buffer drops an item per
// item it receives, which must not flood the log.
const dropLogEvery = 10 * time.Second

// dropLog logs the media items the aligner drops (align.Config.OnDrop), at
// most one line per dropLogEvery; the line carries the stream and reason
// of the drop that triggers it and the items and drops left unlogged since
// the previous line. The stream id goes through slog, whose text handler
// quotes and escapes it. Safe for concurrent use.
type dropLog struct {
	log *slog.Logger
	now func() time.Time // nil means time.Now

	mu    sync.Mutex
	last  time.Time // of the last line; zero before the first
	items int       // items dropped since the last line, unlogged
	drops int       // calls since the last line, unlogged
}

// drop records items of stream dropped for reason and logs them unless a
// line was logged less than dropLogEvery ago.
func (d *dropLog) drop(stream string, items int, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.now != nil {
		now = d.now()
	}
	if !d.last.IsZero() && now.Sub(d.last) < dropLogEvery {
		d.items += items
		d.drops++
		return
	}
	d.log.Warn("aligner dropped media", "stream", stream, "items", items, "reason", reason,
		"unlogged_items", d.items, "unlogged_drops", d.drops)
	d.last, d.items, d.drops = now, 0, 0
}
