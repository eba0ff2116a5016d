package live

import (
	"fmt"
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
