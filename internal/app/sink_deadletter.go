package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink"
)

// A dead-letter write is tried again with sink.Retry's back-off.
const (
	// maxDeadValue bounds the bytes of a malformed message kept in its
	// dead-letter message, so that a value near the broker's message size
	// limit still fits once base64-encoded.
	maxDeadValue = 64 << 10
)

// deadLetterRecord is the JSON value of one dead-letter message.
type deadLetterRecord struct {
	// Reason is the error, naming the field, stream or offset at fault.
	Reason string `json:"reason"`
	// Node is where the item failed: "source" for a malformed message,
	// else the pipeline stage or sink ("align", "score", "kafka", ...).
	Node string `json:"node"`
	// StreamID is the item's stream, when known.
	StreamID string `json:"stream_id,omitempty"`
	// Topic, Partition and Offset locate a malformed source message.
	Topic     string `json:"topic,omitempty"`
	Partition *int   `json:"partition,omitempty"`
	Offset    *int64 `json:"offset,omitempty"`
	// Value holds a malformed message's bytes (base64 in JSON, since they
	// may not be UTF-8), its first maxDeadValue bytes when it is longer.
	Value []byte `json:"value,omitempty"`
	// ValueBytes is the length of the malformed message's value.
	ValueBytes int `json:"value_bytes,omitempty"`
	// Item describes the failed item: a window, a segment, a media item or
	// the event a sink could not write.
	Item any `json:"item,omitempty"`
	// At is when the failure was recorded.
	At time.Time `json:"at"`
}

// windowItem is what a dead-letter message keeps of a failed window: its
// identity and transcript, not its media.
type windowItem struct {
	Kind    string  `json:"kind"`
	Seq     uint64  `json:"seq"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker string  `json:"speaker,omitempty"`
	Text    string  `json:"text,omitempty"`
	Present string  `json:"present"`
	Audio   int     `json:"audio_chunks"`
	Vision  int     `json:"frames"`
}

// mediaItem is what a dead-letter message keeps of a failed media item.
type mediaItem struct {
	Modality   string  `json:"modality"`
	Time       float64 `json:"time"`
	Samples    int     `json:"samples,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Features   int     `json:"features,omitempty"`
}

// segmentItem is what a dead-letter message keeps of a failed segment.
type segmentItem struct {
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker string  `json:"speaker,omitempty"`
	Text    string  `json:"text"`
	Final   bool    `json:"final"`
}

// describe returns the stream id and the dead-letter view of a failed item.
func describe(item any) (string, any) {
	switch v := item.(type) {
	case align.Window:
		return v.StreamID, windowItem{Kind: string(v.Kind), Seq: v.Seq, Start: v.Start.Seconds(), End: v.End.Seconds(),
			Speaker: v.Speaker, Text: v.Text, Present: v.Present.String(), Audio: len(v.Audio), Vision: len(v.Vision)}
	case align.Media:
		return v.StreamID, mediaItem{Modality: v.Modality.String(), Time: v.Time.Seconds(), Samples: len(v.Samples),
			SampleRate: v.SampleRate, Features: len(v.Features)}
	case align.Segment:
		return v.StreamID, segmentItem{Start: v.Start.Seconds(), End: v.End.Seconds(), Speaker: v.Speaker, Text: v.Text, Final: v.Final}
	case event.Event:
		return v.StreamID, v
	case event.Record: // a summary or an alert the webhook gave up on
		return v.RecordStream(), v
	}
	return "", fmt.Sprintf("%T", item)
}

// lateMedia reports whether ie is a media item the aligner dropped as late:
// a drop it counts in its stats, by the drop policy of live media, not a
// failure to record.
func lateMedia(ie *pipeline.ItemError) bool {
	_, media := ie.Item.(align.Media)
	return media && errors.Is(ie.Err, align.ErrLate)
}

// deadLetter writes rejected input and failed items to a Kafka topic. It is
// the pipeline's Config.DeadLetter, and its reject method is the Kafka
// source's Config.Reject. Safe for concurrent use.
type deadLetter struct {
	w       *kafkago.Writer
	sec     kafkasec.Config
	brokers []string
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration // how long one Write tries
	// roles are privacy.roles: when set, the text of other speakers'
	// windows and segments and the value of malformed messages (whose
	// speaker is unknown) stay out of the topic.
	roles   []string
	written atomic.Int64
}

// defaultDeadLetterTimeout is the default DeadLetterSink.RetryTimeout.
const defaultDeadLetterTimeout = 30 * time.Second

// newDeadLetter returns the dead-letter writer of cfg; it reads the files
// and the password of cfg's security now, and connects on the first write.
// With roles (privacy.roles) set, it redacts what those roles exclude.
func newDeadLetter(cfg *DeadLetterSink, roles []string, log *slog.Logger, now func() time.Time) (*deadLetter, error) {
	tr, err := cfg.Security.Transport()
	if err != nil {
		return nil, fmt.Errorf("app: dead letter: %w", err)
	}
	return &deadLetter{
		sec:     cfg.Security,
		brokers: cfg.Brokers,
		w: &kafkago.Writer{
			Transport:    tr,
			Addr:         kafkago.TCP(cfg.Brokers...),
			Topic:        cfg.Topic,
			Balancer:     &kafkago.Murmur2Balancer{Consistent: true},
			RequiredAcks: kafkago.RequireAll,
			MaxAttempts:  1, // write retries with its own back-off
			BatchTimeout: 10 * time.Millisecond,
			WriteTimeout: 5 * time.Second,
		},
		log:     log,
		now:     now,
		timeout: cmp.Or(cfg.RetryTimeout, defaultDeadLetterTimeout),
		roles:   roles,
	}, nil
}

// Write writes one message per failed item, except late media items (drops
// the aligner counts, like the frames a live capture drops), retrying with
// back-off until the broker takes them, DeadLetterSink.RetryTimeout passed or
// ctx (the runner's hard stop) is done. The runner acknowledges a failed item
// only after Write returned, as done when it succeeded and as failed
// otherwise, so its source offset is committed only once the failure is on
// record.
func (d *deadLetter) Write(ctx context.Context, batch []*pipeline.ItemError) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	msgs := make([]kafkago.Message, 0, len(batch))
	for _, ie := range batch {
		if lateMedia(ie) {
			continue
		}
		stream, item := describe(ie.Item)
		item = d.redact(item)
		m, err := d.message(deadLetterRecord{Reason: ie.Err.Error(), Node: ie.Node, StreamID: stream, Item: item})
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return d.write(ctx, msgs)
}

// reject writes a malformed source message, trying once (with the
// writer's own back-off): the Kafka source holds the message and calls
// reject again on its next read while it fails.
func (d *deadLetter) reject(ctx context.Context, m *kafka.MalformedError) error {
	part, off := m.Partition, m.Offset
	value := m.Value[:min(len(m.Value), maxDeadValue)]
	if len(d.roles) > 0 {
		value = nil // its speaker is unknown: it may be an excluded one's
	}
	msg, err := d.message(deadLetterRecord{Reason: m.Error(), Node: "source", StreamID: string(m.Key),
		Topic: m.Topic, Partition: &part, Offset: &off, Value: value, ValueBytes: len(m.Value)})
	if err != nil {
		return err
	}
	if err := d.w.WriteMessages(ctx, msg); err != nil {
		return fmt.Errorf("app: dead letter %s: %w", d.w.Topic, d.sec.Explain(d.brokers, err))
	}
	d.written.Add(1)
	return nil
}

// redact empties the text of a window or segment item whose speaker
// privacy.roles excludes; without roles it returns item unchanged.
func (d *deadLetter) redact(item any) any {
	if len(d.roles) == 0 {
		return item
	}
	switch v := item.(type) {
	case windowItem:
		if !slices.Contains(d.roles, v.Speaker) {
			v.Text = ""
		}
		return v
	case segmentItem:
		if !slices.Contains(d.roles, v.Speaker) {
			v.Text = ""
		}
		return v
	}
	return item
}

// message encodes r as a message keyed by its stream.
func (d *deadLetter) message(r deadLetterRecord) (kafkago.Message, error) {
	r.At = d.now().UTC()
	v, err := json.Marshal(r)
	if err != nil {
		return kafkago.Message{}, fmt.Errorf("app: dead letter: encode %s item of stream %q: %w", r.Node, r.StreamID, err)
	}
	return kafkago.Message{Key: []byte(r.StreamID), Value: v}, nil
}

// write sends msgs, retrying with back-off until it succeeds or ctx is done.
func (d *deadLetter) write(ctx context.Context, msgs []kafkago.Message) error {
	backoff := sink.RetryBackoffMin
	for attempt := 1; ; attempt++ {
		err := d.sec.Explain(d.brokers, d.w.WriteMessages(ctx, msgs...))
		if err == nil {
			d.written.Add(int64(len(msgs)))
			return nil
		}
		d.log.Warn("dead letter write failed, retrying", "topic", d.w.Topic, "messages", len(msgs), "attempt", attempt, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("app: dead letter %s: gave up after %d attempts: %w", d.w.Topic, attempt, err)
		case <-t.C:
		}
		backoff = min(2*backoff, sink.RetryBackoffMax)
	}
}

// Close flushes and closes the writer.
func (d *deadLetter) Close(context.Context) error {
	if err := d.w.Close(); err != nil {
		return fmt.Errorf("app: dead letter %s: close: %w", d.w.Topic, err)
	}
	return nil
}
