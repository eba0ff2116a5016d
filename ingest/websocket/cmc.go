package websocket

import (
	"github.com/cmc-stream/cmc-stream/event"
)

// cmcConn decodes the JSON audio chunks and transcript segments of one
// connection, all of one stream.
type cmcConn struct {
	segDec event.SegmentDecoder
	stream string // the first message's stream id
}

func (c *cmcConn) decode(msg []byte) ([]Item, bool, error) {
	var it Item
	var stream string
	if event.IsAudioChunk(msg) {
		a, err := event.DecodeAudioChunk(msg)
		if err != nil {
			return nil, false, malformed("cmc: audio chunk: %v", err)
		}
		it.Audio, stream = &a, a.StreamID
	} else {
		seg, err := c.segDec.Decode(msg)
		if err != nil {
			return nil, false, malformed("cmc: segment: %v", err)
		}
		it.Segment, stream = &seg, seg.StreamID
	}
	if c.stream == "" {
		c.stream = stream
	} else if stream != c.stream {
		return nil, false, outOfOrder("cmc: stream_id of another stream than the connection's")
	}
	return []Item{it}, false, nil
}
