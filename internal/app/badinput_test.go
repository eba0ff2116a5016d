package app

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/model"
)

// TestBadTranscriptInput runs the pipeline on a Kafka topic where each
// stream carries one bad message between good segments. Every bad message
// gives a counted, logged rejection with a dead-letter message naming the
// reason, and never a crash or a stuck stream: the good segments around it
// all give their events and every offset is committed.
func TestBadTranscriptInput(t *testing.T) {
	k := newKafka(t, 3)
	addr := k.ListenAddrs()[0]
	now := time.Now().UTC()
	wall := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	wallSeg := func(stream string, from, to time.Duration, text string) record {
		return record{stream, fmt.Sprintf(`{"stream_id":%q,"start":%q,"end":%q,"text":%q,"final":true}`, stream, wall(from), wall(to), text)}
	}
	rows := []struct {
		name string
		// recs are the stream's messages; good ones say "fine".
		recs []record
		// reason and node are what the dead-letter message must carry.
		reason []string
		node   string
	}{
		{"malformed JSON", []record{{"json", `{"stream_id":"json","start":`}}, []string{"malformed JSON"}, "source"},
		{"wrong type", []record{{"type", `{"stream_id":"type","start":"soon","end":3,"text":"x","final":true}`}}, []string{"field start", "wrong type"}, "source"},
		{"missing field", []record{{"missing", `{"stream_id":"missing","start":2.5,"end":2.8,"final":true}`}}, []string{"field text", "missing"}, "source"},
		{"out of order", []record{seg("order", 0.2, 0.5, "too late")}, []string{"late"}, "align"},
		{"far future offset", []record{seg("future", 4e7, 4e7+1, "in 1,268 years")}, []string{"invalid"}, "align"},
		{"1 MB text", []record{seg("huge", 2.5, 2.8, strings.Repeat("a", 1_000_000))}, []string{"too large"}, "source"},
		{"invalid UTF-8", []record{{"utf8", "{\"stream_id\":\"utf8\",\"start\":2.5,\"end\":2.8,\"text\":\"\xff\xfe\",\"final\":true}"}}, []string{"UTF-8"}, "source"},
		{"unknown stream id", []record{{"known", `{"stream_id":"stranger","start":2.5,"end":2.8,"text":"x","final":true}`}}, []string{"message key is not the stream id"}, "source"},
		{"empty stream id", []record{{"empty", `{"stream_id":"","start":2.5,"end":2.8,"text":"x","final":true}`}}, []string{"stream_id"}, "source"},
		{"audio below telephony rate", []record{audioChunk("rate", 2.5, 4000, "f32le", f32le(make([]float32, 800)))}, []string{"field sample_rate", "4000 Hz", "want 8000"}, "source"},
		{"audio of a broken length", []record{audioChunk("length", 2.5, 16000, "pcm16le", "AAAA")}, []string{"field samples", "whole number"}, "source"},
		{"NaN audio sample", []record{audioChunk("nan", 2.5, 16000, "f32le", f32le([]float32{0, float32(math.NaN())}))}, []string{"field samples", "NaN"}, "source"},
	}
	var recs []record
	want := map[string]bool{} // event ids of the good segments
	for _, r := range rows {
		stream := r.recs[0].key
		recs = append(recs, seg(stream, 1, 2, "fine"))
		recs = append(recs, r.recs...)
		recs = append(recs, seg(stream, 3, 4, "fine"))
		want[stream+"/utt/1000"], want[stream+"/utt/3000"] = true, true
	}
	// A wall-clock stream whose first segment lies far in the future: taken
	// as the stream's start, it would reject every later segment.
	recs = append(recs, wallSeg("wall", 1000*time.Hour, 1001*time.Hour, "from the future"),
		wallSeg("wall", -3*time.Second, -2*time.Second, "fine"), wallSeg("wall", -time.Second, 0, "fine"))
	for _, d := range []time.Duration{-3 * time.Second, -time.Second} {
		want[event.ID("wall", event.Utterance, uint64(now.Add(d).UnixMilli()))] = true
	}
	produce(t, addr, inTopic, recs...)

	cfg, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, log := startApp(t, cfg, Options{})
	poll(t, "events and dead letters", func() error {
		return errors.Join(errCount("events", len(events(t, addr)), len(want)), errCount("dead letters", len(deadLetters(t, addr)), len(rows)+1))
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	for _, e := range events(t, addr) {
		if !want[e.EventID] {
			t.Errorf("unexpected event %s (%q)", e.EventID, e.Transcript)
		}
		if e.Transcript != "fine" {
			t.Errorf("event %s has transcript %.20q", e.EventID, e.Transcript)
		}
		delete(want, e.EventID)
	}
	for id := range want {
		t.Errorf("no event %s", id)
	}
	dead := deadLetters(t, addr)
	for _, r := range append(rows, struct {
		name   string
		recs   []record
		reason []string
		node   string
	}{"far future wall time", []record{{key: "wall"}}, []string{"ahead of the clock"}, "source"}) {
		t.Run(r.name, func(t *testing.T) {
			stream := r.recs[0].key
			i := slices.IndexFunc(dead, func(d deadLetterRecord) bool { return d.StreamID == stream })
			if i < 0 {
				t.Fatalf("no dead letter for stream %q", stream)
			}
			d := dead[i]
			if err := containsAll(d.Reason, r.reason...); err != nil {
				t.Error(err)
			}
			if d.Node != r.node {
				t.Errorf("dead letter node %q, want %q", d.Node, r.node)
			}
			if strings.Contains(d.Reason, "malformed message") && (d.Offset == nil || d.Topic != inTopic || len(d.Value) == 0) {
				t.Errorf("dead letter of a malformed message lacks its offset or bytes: %+v", d)
			}
			if !strings.Contains(log.String(), stream) {
				t.Errorf("no log line names stream %q", stream)
			}
		})
	}
	s := app.Summary()
	if s.Rejected+s.Failed != int64(len(rows)+1) {
		t.Errorf("summary %v: want %d rejected or failed", s, len(rows)+1)
	}
	if c, e := committedOffsets(t, addr, 3), endOffsets(t, addr, inTopic, 3); !slices.Equal(c, e) {
		t.Errorf("committed offsets %v, want every message's: %v", c, e)
	}
}

// TestBuildRejectsBadBundle checks that a bundle whose shapes do not fit the
// configured extractors, or whose weights are corrupt, fails Build with an
// error naming the problem, before anything runs.
func TestBuildRejectsBadBundle(t *testing.T) {
	for _, c := range []struct {
		name string
		dims model.PerModality
		hurt func(dir string) error
		want string
	}{
		{name: "wrong text dims", dims: model.PerModality{Text: 17, Audio: 34, Vision: vision.Dims}, want: "dims.text 17"},
		{name: "truncated weights", dims: model.PerModality{Audio: 34, Vision: vision.Dims}, want: "weights",
			hurt: func(dir string) error { return os.Truncate(filepath.Join(dir, "weights.safetensors"), 100) }},
		{name: "NaN weight", dims: model.PerModality{Audio: 34, Vision: vision.Dims}, want: `tensor "router.linear.bias" has a non-finite value`,
			hurt: nanBias},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := saveBundle(t, c.dims, 3)
			if c.hurt != nil {
				if err := c.hurt(dir); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := DecodeConfig([]byte("model: {bundle: " + dir + "}\ntext: {max_len: 24}\nsources: {transcripts: {file: x.jsonl}}\nsinks: {stdout: {}}\n" + testAssetsYAML))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// nanBias rewrites the bundle in dir with a NaN router bias, the way a
// diverged training run leaves it.
func nanBias(dir string) error {
	m, err := model.Load(dir)
	if err != nil {
		return err
	}
	m.Weights.Router.Bias[0] = float32(math.NaN())
	return m.Save(dir)
}
