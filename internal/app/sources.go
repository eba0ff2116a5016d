package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/audio"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/ingest/transcript"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/ingest/websocket"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// videoInput is a pipeline source of video frames, whose vision features
// the vision stage computes with the input's extractor (see visionStage):
// a slow extractor makes the capture queue drop the oldest frames (counted)
// instead of delaying the stream. The extractor is loaded before the
// pipeline starts, so that the capture starts with the other sources. A
// camera or URL that stops delivering frames (unplugged, network gone) is
// closed, counted and reported as pipeline.ErrNotConnected, so the runner
// opens it again after its back-off; meanwhile the stream's windows go on
// without vision once they waited window.max_wait.
type videoInput struct {
	stream string
	cfg    video.Config
	clock  *StreamClock
	ex     *vision.Extractor // used by the vision stage, one frame at a time
	errs   atomic.Int64      // frames whose features failed
	lost   atomic.Int64      // times the capture stopped delivering frames
	// skipped counts the frames the vision stage passed on without
	// features: no window to be scored could take them.
	skipped atomic.Int64

	mu  sync.Mutex // guards src and past against dropped
	src *video.Source
	// base is the stream time of the current capture's first frame: the
	// capture's frame times start at 0 on every open.
	base   time.Duration
	origin time.Time // the stream's wall-clock origin
	opened bool      // a capture was opened before
	past   int64     // drops and decode errors of the captures closed after a loss
}

func (v *videoInput) Connect(context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.src != nil {
		return nil
	}
	v.clock.Start(v.stream, v.clock.Now())
	origin := v.clock.Origin(v.stream, 0)
	base := v.base
	if v.opened {
		base = max(v.clock.Now().Sub(origin), 0)
	}
	// A replayed file plays from the stream's start (or, opened again,
	// from now), in step with the stream's other sources.
	cfg := v.cfg
	cfg.Epoch = origin.Add(base)
	// The capture queues only the frames the vision recipe samples (as
	// extract does), so its queue holds QueueFrames of them.
	cfg.Keep = vision.Sampled
	src, err := video.Open(cfg)
	if err != nil {
		return fmt.Errorf("app: video source %q: %w", v.stream, err)
	}
	v.src, v.base, v.origin, v.opened = src, base, origin, true
	return nil
}

// Read returns the next frame that the vision recipe samples
// (vision.Sampled, kept by the capture), its pixels in the Payload for the
// vision stage.
func (v *videoInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	f, err := v.src.Read(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	if errors.Is(err, video.ErrDeviceLost) {
		v.lost.Add(1)
		return nil, nil, v.drop(err)
	}
	if err != nil {
		return nil, nil, err
	}
	// The capture keeps one frame in vision.FrameStep (see Connect); the
	// next is FrameStep intervals on.
	return align.Media{StreamID: v.stream, Modality: align.Vision, Time: v.base + f.Time, Origin: v.origin, Interval: f.Interval * vision.FrameStep,
		Payload: visionFrame{pix: f.Pix, width: f.Width, height: f.Height, in: v}}, nil, nil
}

// drop closes a capture that stopped delivering frames, keeping its
// counters, and returns the error that makes the runner connect again.
func (v *videoInput) drop(cause error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.src.Stats()
	v.past += st.Dropped + st.DecodeErrors
	cerr := v.src.Close()
	v.src = nil
	return errors.Join(fmt.Errorf("%w: live: video source %q: %w", pipeline.ErrNotConnected, v.stream, cause), cerr)
}

func (v *videoInput) Close(context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	if v.src != nil {
		errs = append(errs, v.src.Close())
	}
	return errors.Join(append(errs, v.ex.Close())...)
}

// dropped returns the frames the captures dropped or could not use.
func (v *videoInput) dropped() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.past + v.errs.Load()
	if v.src != nil {
		st := v.src.Stats()
		n += st.Dropped + st.DecodeErrors
	}
	return n
}

// micInput is a pipeline source of audio items from a PortAudio device.
type micInput struct {
	stream string
	cfg    audio.Config
	clock  *StreamClock
	src    *audio.Stream
	origin time.Time // the stream's wall-clock origin
}

func (m *micInput) Connect(context.Context) error {
	if m.src != nil {
		return nil
	}
	src, err := audio.Open(m.cfg) // the command initialised PortAudio (audio.Init)
	if err != nil {
		return fmt.Errorf("app: audio source %q: %w", m.stream, err)
	}
	m.src = src
	m.clock.Start(m.stream, m.clock.Now())
	m.origin = m.clock.Origin(m.stream, 0)
	return nil
}

func (m *micInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	c, err := m.src.Read(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil, pipeline.ErrEndOfInput
	}
	if err != nil {
		return nil, nil, err
	}
	return align.Media{StreamID: m.stream, Modality: align.Audio, Time: c.Start, Origin: m.origin, Samples: mono(c.Samples, c.Channels), SampleRate: int(c.SampleRate)}, nil, nil
}

func (m *micInput) Close(context.Context) error {
	if m.src == nil {
		return nil
	}
	return m.src.Close()
}

func (m *micInput) dropped() int64 {
	if m.src == nil {
		return 0
	}
	return m.src.Stats().Dropped
}

// mono averages interleaved channels.
func mono(samples []float32, channels int) []float32 {
	if channels <= 1 {
		return samples
	}
	out := make([]float32, len(samples)/channels)
	for i := range out {
		var s float32
		for c := range channels {
			s += samples[i*channels+c]
		}
		out[i] = s / float32(channels)
	}
	return out
}

// maxClockAhead is how far ahead of the wall clock a wall-clock transcript
// segment or audio chunk may start: generous for skewed clocks, far below
// what a corrupt timestamp gives.
const maxClockAhead = time.Hour

// feedItem is one message of a transcript feed: a transcript segment, or,
// on a Kafka feed, an audio chunk of the same streams or an end-of-call
// marker.
type feedItem struct {
	seg   event.Segment
	audio *event.AudioChunk
	// speaker, when set, is the role whose voice audio is (a Twilio
	// track), so its channels are averaged into that role's audio.
	speaker string
	// ended is the stream of an end-of-call marker.
	ended string
}

// decodeFeed is the Decoder of a Kafka feed: audio chunks (messages with a
// "samples" field) and transcript segments on one topic, so that a stream's
// audio and transcript share its partition, its order and its consumer.
func decodeFeed(maxText int) kafka.Decoder[feedItem] {
	dec := event.SegmentDecoder{MaxTextBytes: maxText}
	return func(value []byte) (feedItem, string, error) {
		if event.IsAudioChunk(value) {
			c, err := event.DecodeAudioChunk(value)
			return feedItem{audio: &c}, c.StreamID, err
		}
		if event.IsEndOfCall(value) {
			id, err := event.DecodeEndOfCall(value)
			return feedItem{ended: id}, id, err
		}
		seg, err := dec.Decode(value)
		return feedItem{seg: seg}, seg.StreamID, err
	}
}

// segmentFeed adapts a source of transcript segments (the JSONL file) to a
// source of feed items.
type segmentFeed struct {
	src pipeline.Source[event.Segment]
}

func (f segmentFeed) Connect(ctx context.Context) error { return f.src.Connect(ctx) }

func (f segmentFeed) Read(ctx context.Context) (feedItem, pipeline.AckFunc, error) {
	seg, ack, err := f.src.Read(ctx)
	return feedItem{seg: seg}, ack, err
}

func (f segmentFeed) Close(ctx context.Context) error { return f.src.Close(ctx) }

// transcriptInput turns a feed of transcript segments (a JSONL file or a
// Kafka topic, which may also carry audio chunks) into aligner items in
// stream time, stamped with their stream's origin, passing the
// acknowledgements through. Wall-clock times are measured from the
// stream's origin on the StreamClock (the first item's start when no media
// source started the stream); offsets are kept, and a stream without an
// origin is taken to have started when its first item was read minus that
// item's offset. An item that starts
// before its stream or more than maxClockAhead ahead of the clock, and an
// audio chunk at another rate than the feed's, go to reject, are
// acknowledged, and the read goes on. With channel roles, the channels of
// an audio chunk become the audio of their speakers (see channelStream),
// and each segment of such a speaker goes to its speaker's audio.
type transcriptInput struct {
	src    pipeline.Source[feedItem]
	clock  *StreamClock
	reject func(ctx context.Context, item any, reason error) error
	// rate, when not 0, is the sample rate audio chunks must have, in Hz.
	rate int
	// channels maps audio channels to speaker roles; nil averages them.
	channels ChannelRoles
	// parties are the speaker roles with audio of their own (Config.parties):
	// their segments go to their own audio.
	parties []string
	// privacy says whose items stop here, before the aligner. The
	// segments of a speaker privacy.roles excludes lose their text and
	// keep their speaker and timing, which windows of a shared stream
	// need (the speaker of a sliding window, so that a window the excluded
	// speaker dominates is not scored); those of an excluded party (a
	// speaker with audio of its own) are dropped, with the audio of its
	// track. channels should hold only the roles privacy scores
	// (ChannelRoles.scored).
	privacy PrivacyConfig
	// pending are the items of a chunk's other channels, returned by the
	// next Reads, with pendingAck.
	pending    []align.Input
	pendingAck pipeline.AckFunc
	// ended is told the stream of each end-of-call marker or ended
	// WebSocket connection, which also ends the stream in the aligner
	// (ends); nil tells no one.
	ended func(stream string)
}

func (t *transcriptInput) Connect(ctx context.Context) error { return t.src.Connect(ctx) }

func (t *transcriptInput) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	if len(t.pending) > 0 {
		in := t.pending[0]
		t.pending = t.pending[1:]
		return in, t.pendingAck, nil
	}
	for {
		it, ack, err := t.src.Read(ctx)
		if le := (*transcript.LineError)(nil); errors.As(err, &le) {
			// A refused line of a transcript file, counted like a
			// refused Kafka message.
			if rerr := t.reject(ctx, nil, le); rerr != nil {
				return nil, nil, errors.Join(le, rerr)
			}
			continue
		}
		if err != nil {
			return nil, ack, err
		}
		if it.ended != "" {
			if t.ended != nil {
				t.ended(it.ended)
			}
			items := t.ends(it.ended)
			ack = shareAck(ack, len(items))
			t.pending, t.pendingAck = items[1:], ack
			return items[0], ack, nil
		}
		var in align.Input
		var reason error
		if c := it.audio; c != nil {
			m := align.Media{StreamID: c.StreamID, Modality: align.Audio, SampleRate: c.SampleRate}
			m.Time, m.Origin, reason = t.streamTime(c.StreamID, c.Start)
			if reason == nil && t.rate != 0 && c.SampleRate != t.rate {
				reason = fmt.Errorf("app: audio chunk of stream %q at %d Hz, the feed's sample_rate is %d Hz", c.StreamID, c.SampleRate, t.rate)
			}
			if reason == nil {
				items := splitChannels(m, *c, t.channels)
				if it.speaker != "" {
					m.StreamID, m.Samples = channelStream(c.StreamID, it.speaker), c.Mono()
					items = []align.Input{m}
					if t.privacy.excludes(it.speaker) {
						items = nil
					}
				}
				if len(items) == 0 {
					// Only channels without a scored role: nothing to score.
					if err := done(ctx, ack); err != nil {
						return nil, nil, err
					}
					continue
				}
				ack = shareAck(ack, len(items))
				t.pending, t.pendingAck = items[1:], ack
				return items[0], ack, nil
			}
			m.Samples = c.Mono()
			in = m
		} else {
			seg := it.seg
			s := align.Segment{StreamID: seg.StreamID, Speaker: seg.Speaker, Text: seg.Text, Final: seg.Final, Lang: seg.Lang,
				WallClock: seg.Start.IsWall()}
			if t.privacy.excludes(s.Speaker) {
				s.Text = ""
			}
			s.Start, s.Origin, reason = t.streamTime(seg.StreamID, seg.Start)
			s.End = s.Start + seg.End.Offset() - seg.Start.Offset()
			if seg.Start.IsWall() {
				s.End = s.Start + seg.End.Wall().Sub(seg.Start.Wall())
			}
			if slices.Contains(t.parties, s.Speaker) {
				if reason == nil && t.privacy.excludes(s.Speaker) {
					// An excluded party: its audio stopped at the split,
					// so its windows would hold nothing.
					if err := done(ctx, ack); err != nil {
						return nil, nil, err
					}
					continue
				}
				s.StreamID = channelStream(s.StreamID, s.Speaker)
			}
			in = s
		}
		if reason == nil {
			return in, ack, nil
		}
		if err := t.reject(ctx, in, reason); err != nil {
			// Not acknowledged: a Kafka message is delivered again.
			return nil, nil, errors.Join(reason, err)
		}
		if ack != nil {
			// Rejected and on record (logged and counted, dead-lettered
			// when configured): done.
			if err := ack(ctx, nil); err != nil {
				return nil, nil, errors.Join(reason, err)
			}
		}
	}
}

// done acknowledges an item that is used no further, when it has an ack.
func done(ctx context.Context, ack pipeline.AckFunc) error {
	if ack == nil {
		return nil
	}
	return ack(ctx, nil)
}

// ends returns the inputs that end stream id in the aligner: its own
// stream and those of its parties' channels (channelStream), so that its
// last windows close at the end of the call instead of window.idle_timeout
// later.
func (t *transcriptInput) ends(id string) []align.Input {
	items := []align.Input{align.End{StreamID: id}}
	for _, p := range t.parties {
		items = append(items, align.End{StreamID: channelStream(id, p)})
	}
	return items
}

// streamTime returns the stream time of tm in stream id, and the stream's
// origin: an offset as it is, a wall-clock time measured from the stream's
// origin.
func (t *transcriptInput) streamTime(id string, tm event.Time) (time.Duration, time.Time, error) {
	if !tm.IsWall() {
		return tm.Offset(), t.clock.Origin(id, tm.Offset()), nil
	}
	if now := t.clock.Now(); tm.Wall().After(now.Add(maxClockAhead)) {
		// Taken as the stream's start, it would make every later item of
		// the stream start before it.
		return 0, time.Time{}, fmt.Errorf("app: stream %q: item starts at %v, more than %v ahead of the clock (%v)",
			id, tm.Wall().Format(time.RFC3339Nano), maxClockAhead, now.Format(time.RFC3339Nano))
	}
	t.clock.Start(id, tm.Wall())
	origin := t.clock.Origin(id, 0)
	d := tm.Wall().Sub(origin)
	if d < 0 {
		return 0, time.Time{}, fmt.Errorf("app: stream %q: item starts at %v, before the stream's start %v",
			id, tm.Wall().Format(time.RFC3339Nano), origin.Format(time.RFC3339Nano))
	}
	return d, origin, nil
}

func (t *transcriptInput) Close(ctx context.Context) error { return t.src.Close(ctx) }

// channelSep joins a stream id and a speaker role into the aligner stream
// of that speaker's channel (channelStream). It is a control character,
// which stream ids never hold, so the aligner's stream ids stay distinct
// from the feed's.
const channelSep = "\x1f"

// channelStream returns the aligner stream of the audio channel of role in
// stream: a stereo call is aligned as one stream per party, each with its
// own audio and its own speaker's segments.
func channelStream(stream, role string) string { return stream + channelSep + role }

// splitChannel returns the stream and the role of an aligner stream made by
// channelStream; ok is false for any other stream id.
func splitChannel(id string) (stream, role string, ok bool) {
	return strings.Cut(id, channelSep)
}

// splitChannels returns the audio items of chunk c, timed as m: with roles,
// one per channel that has a role, in the channel's stream; without, the
// channels averaged, in the chunk's stream.
func splitChannels(m align.Media, c event.AudioChunk, roles ChannelRoles) []align.Input {
	if roles == nil {
		m.Samples = c.Mono()
		return []align.Input{m}
	}
	var items []align.Input
	for ch := range c.Channels {
		role, ok := roles[ch]
		if !ok {
			continue
		}
		item := m
		item.StreamID = channelStream(c.StreamID, role)
		item.Samples = c.Channel(ch)
		items = append(items, item)
	}
	return items
}

// shareAck returns an AckFunc for n items made from one message: it calls
// ack once all n were acknowledged, with the first error among them.
func shareAck(ack pipeline.AckFunc, n int) pipeline.AckFunc {
	if ack == nil || n == 1 {
		return ack
	}
	var mu sync.Mutex
	var first error
	return func(ctx context.Context, err error) error {
		mu.Lock()
		n--
		if first == nil {
			first = err
		}
		last, e := n == 0, first
		mu.Unlock()
		if !last {
			return nil
		}
		return ack(ctx, e)
	}
}

// websocketFeed adapts the WebSocket source to a source of feed items.
type websocketFeed struct {
	src *websocket.Source
}

func (f websocketFeed) Connect(ctx context.Context) error { return f.src.Connect(ctx) }

func (f websocketFeed) Read(ctx context.Context) (feedItem, pipeline.AckFunc, error) {
	it, ack, err := f.src.Read(ctx)
	fi := feedItem{audio: it.Audio, speaker: it.Speaker, ended: it.Ended}
	if it.Segment != nil {
		fi.seg = *it.Segment
	}
	return fi, ack, err
}

func (f websocketFeed) Close(ctx context.Context) error { return f.src.Close(ctx) }

// newWebSocketSource builds the WebSocket source of cfg with its token,
// warning when it listens beyond loopback.
func newWebSocketSource(cfg *WebSocketSource, log *slog.Logger) (*websocket.Source, error) {
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	src, err := websocket.New(cfg.config(token))
	if err != nil {
		return nil, fmt.Errorf("app: sources.websocket: %w", err)
	}
	if host, _, err := net.SplitHostPort(cfg.Listen); err == nil && !loopback(host) {
		log.Warn("the WebSocket source listens beyond loopback: anyone who reaches it can stream calls in", "listen", cfg.Listen, "token", token != "")
	}
	return src, nil
}

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
