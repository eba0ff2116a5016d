package app

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestProducerErrorsDeadLettered points the event sink at a topic that does
// not exist: each event is retried for retry_timeout, then goes to the
// dead-letter topic with the reason and the event itself, and its offset is
// committed; no event is dropped silently.
func TestProducerErrorsDeadLettered(t *testing.T) {
	k := newKafka(t, 2)
	addr := k.ListenAddrs()[0]
	produce(t, addr, inTopic, seg("a", 1, 2, "fine"), seg("b", 1, 2, "fine"), seg("a", 3, 4, "fine"))
	yaml := strings.Replace(kafkaConfig(textBundle(t), addr, ""), "topic: "+outTopic+", batch_timeout: 5ms", "topic: calls.missing, batch_timeout: 5ms, retry_timeout: 300ms", 1)
	cfg, err := DecodeConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	poll(t, "dead letters", func() error { return errCount("dead letters", len(deadLetters(t, addr)), 3) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range deadLetters(t, addr) {
		if d.Node != "kafka" || !strings.Contains(d.Reason, "calls.missing") {
			t.Errorf("dead letter %+v, want the kafka sink's failure on calls.missing", d)
		}
		item, _ := d.Item.(map[string]any)
		ids = append(ids, fmt.Sprint(item["event_id"]))
	}
	slices.Sort(ids)
	if want := []string{"a/utt/1000", "a/utt/3000", "b/utt/1000"}; !slices.Equal(ids, want) {
		t.Errorf("dead-lettered events %v, want %v", ids, want)
	}
	if s := app.Summary(); s.Failed != 3 || s.Events != 3 {
		t.Errorf("summary %v, want 3 events handed to the sinks and 3 failed", s)
	}
	if c, e := committedOffsets(t, addr, 2), endOffsets(t, addr, inTopic, 2); !slices.Equal(c, e) {
		t.Errorf("committed %v, want %v", c, e)
	}
}

// pcm16le encodes samples as little-endian 16-bit PCM in base64.
func pcm16le(samples []float32) string {
	b := make([]byte, 2*len(samples))
	for i, v := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(math.Round(float64(max(-1, min(1, v)))*32767))))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestAudioOverKafka feeds a call as messages: 16 kHz PCM16 audio chunks
// of half a second and transcript segments on one topic, keyed by the call
// id. Each utterance gives an event whose audio is present.
func TestAudioOverKafka(t *testing.T) {
	k := newKafka(t, 2)
	addr := k.ListenAddrs()[0]
	const rate = 16000
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the noise under the tone
	var recs []record
	for c := range 8 {
		chunk := make([]float32, rate/2)
		for i := range chunk {
			ts := float64(c*len(chunk)+i) / rate
			chunk[i] = float32(0.3*math.Sin(2*math.Pi*220*ts) + 0.05*rng.NormFloat64())
		}
		recs = append(recs, audioChunk("call-a", float64(c)/2, rate, "pcm16le", pcm16le(chunk)))
	}
	recs = append(recs, seg("call-a", 1, 2, "hello there"), seg("call-a", 2.5, 3.5, "that is great"))
	produce(t, addr, inTopic, recs...)
	cfg, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	_, stop, _ := startApp(t, cfg, Options{})
	poll(t, "events", func() error { return errCount("events", len(events(t, addr)), 2) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, e := range events(t, addr) {
		want := []string{"call-a/utt/1000", "call-a/utt/2500"}[i]
		if e.EventID != want || !e.Modalities.Audio.Present || !e.Modalities.Text.Present {
			t.Errorf("event %d: %s, text %v, audio %v; want %s with text and audio", i, e.EventID, e.Modalities.Text.Present, e.Modalities.Audio.Present, want)
		}
	}
	if d := deadLetters(t, addr); len(d) > 0 {
		t.Errorf("dead letters %+v", d)
	}
}
