package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

// e2eStream is one stream of TestEndToEndMediaKafka: a demo clip (video and
// its WAV) and the utterances produced for it, their starts in ms.
type e2eStream struct {
	id, clip string
	utts     []e2eUtterance
}

// e2eUtterance is one final transcript segment of an e2eStream.
type e2eUtterance struct {
	startMS, endMS int
	text           string
}

// TestEndToEndMediaKafka runs the whole product path of a call-centre
// deployment on two streams: each has a real video file (gocv capture, the
// vision extractor through ONNX Runtime) and its WAV from the repository's
// demo media, and three final transcript segments produced to the Kafka
// input topic keyed by stream id; the demo model bundle scores the windows
// and the Kafka sink writes the events to the output topic. It proves that
// the output topic holds exactly one event per utterance, no duplicate id,
// each keyed by its stream id and in window order per stream within its
// partition; that every field of cmc.sentiment.v1 is in the raw JSON; that
// audio and vision are present (real media went through, not zero padding);
// and that after a graceful stop the group's committed offsets reach the end
// of the input topic.
func TestEndToEndMediaKafka(t *testing.T) {
	const partitions = 2
	streams := []e2eStream{
		{id: "call-neg", clip: "c01_tneg_aneg_vneg", utts: []e2eUtterance{ // 3.22 s of media
			{200, 1000, "The commercials"}, {1100, 2000, "are the most"}, {2100, 2900, "misleading."}}},
		{id: "call-pos", clip: "c31_tpos_apos_vpos", utts: []e2eUtterance{ // 3.06 s of media
			{150, 900, "The cocktails are"}, {1000, 1900, "all handmade"}, {2000, 2800, "and delicious."}}},
	}
	k := newKafka(t, partitions)
	addr := k.ListenAddrs()[0]

	var recs []record
	want := map[string]e2eUtterance{} // by event id
	for _, s := range streams {
		for _, u := range s.utts {
			recs = append(recs, seg(s.id, float64(u.startMS)/1000, float64(u.endMS)/1000, u.text))
			want[event.ID(s.id, event.Utterance, uint64(u.startMS))] = u
		}
	}
	produce(t, addr, inTopic, recs...)

	// The Kafka input, output and dead-letter topics of the other Kafka
	// tests, with the demo bundle's text encoder (its lengths.text), real
	// media at full speed and a max_wait long enough that a window never
	// goes out without its media.
	cfg, err := DecodeConfig([]byte(kafkaConfig("../../demo/model", addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Text.MaxLen = 0
	cfg.Window.MaxWait = 15 * time.Second
	fast := false
	for _, s := range streams {
		media := "../../demo/media/" + s.clip
		cfg.Sources.Video = append(cfg.Sources.Video, VideoSource{StreamID: s.id, Device: media + ".mp4", FPS: 15, Realtime: &fast})
		cfg.Sources.Audio = append(cfg.Sources.Audio, AudioSource{StreamID: s.id, File: media + ".wav", Realtime: &fast})
	}
	app, stop, _ := startApp(t, cfg, Options{})
	poll(t, "one event per utterance", func() error { return errCount("events", len(readTopic(t, addr, outTopic)), len(want)) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The topic after the stop: nothing came twice or late.
	msgs := readTopic(t, addr, outTopic)
	if len(msgs) != len(want) {
		t.Errorf("%d events in %s, want %d (one per utterance)", len(msgs), outTopic, len(want))
	}
	seen := map[string]int{}
	partOf := map[string]int{}       // the partition of each stream's events
	last := map[string]event.Event{} // each stream's previous event
	for _, m := range msgs {
		var e event.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		// The message against the JSON Schema of cmc.sentiment.v2; the
		// test's windows have every modality.
		if err := schematest.ValidateJSON(m.Value); err != nil {
			t.Errorf("event %s: %v\n%s", e.EventID, err, m.Value)
		}
		if p := e.Modalities.Present(); p != [3]bool{true, true, true} {
			t.Errorf("event %s: modalities present %v, want all", e.EventID, p)
		}
		if err := e.Validate(); err != nil {
			t.Error(err)
		}
		seen[e.EventID]++
		if string(m.Key) != e.StreamID {
			t.Errorf("event %s has key %q, want its stream id", e.EventID, m.Key)
		}
		u, ok := want[e.EventID]
		if !ok {
			t.Errorf("event %s (%q) matches no produced utterance", e.EventID, e.Transcript)
			continue
		}
		if e.Transcript != u.text || e.Speaker != "customer" || e.Window.Kind != event.Utterance {
			t.Errorf("event %s: transcript %q, speaker %q, kind %q; want %q of customer, utterance", e.EventID, e.Transcript, e.Speaker, e.Window.Kind, u.text)
		}
		if got, want := e.Window.End.Sub(e.Window.Start).Round(time.Millisecond), time.Duration(u.endMS-u.startMS)*time.Millisecond; got != want {
			t.Errorf("event %s spans %v, want %v", e.EventID, got, want)
		}
		if p := e.Modalities.Present(); p != [3]bool{true, true, true} {
			t.Errorf("event %s: text, audio, vision present %v, want all: the media did not reach the window", e.EventID, p)
		}
		if e.Model.Name != "cmc-demo" || e.Model.SHA256 != app.Model().SHA256 {
			t.Errorf("event %s model %+v, want cmc-demo with the weights' sha256 %s", e.EventID, e.Model, app.Model().SHA256)
		}
		if p, ok := partOf[e.StreamID]; ok && p != m.Partition {
			t.Errorf("stream %s has events on partitions %d and %d", e.StreamID, p, m.Partition)
		}
		partOf[e.StreamID] = m.Partition
		if prev, ok := last[e.StreamID]; ok && (e.Window.Seq <= prev.Window.Seq || !e.Window.Start.After(prev.Window.Start)) {
			t.Errorf("stream %s: event %s (start %v) after %s (start %v) in partition order", e.StreamID, e.EventID, e.Window.Start, prev.EventID, prev.Window.Start)
		}
		last[e.StreamID] = e
	}
	var missing, dups []string
	for id := range want {
		if n := seen[id]; n == 0 {
			missing = append(missing, id)
		} else if n > 1 {
			dups = append(dups, fmt.Sprintf("%s x%d", id, n))
		}
	}
	sort.Strings(missing)
	sort.Strings(dups)
	if len(missing) > 0 || len(dups) > 0 {
		t.Errorf("events missing %v, duplicated %v", missing, dups)
	}

	if s := app.Summary(); s.Windows != int64(len(want)) || s.Events != int64(len(want)) || s.Failed != 0 || s.Rejected != 0 {
		t.Errorf("summary %v, want %d windows and events, none failed or rejected", s, len(want))
	}
	if d := deadLetters(t, addr); len(d) > 0 {
		t.Errorf("dead letters %+v", d)
	}
	if c, e := committedOffsets(t, addr, partitions), endOffsets(t, addr, inTopic, partitions); !slices.Equal(c, e) {
		t.Errorf("committed offsets %v, want the input topic's end offsets %v", c, e)
	}
}
