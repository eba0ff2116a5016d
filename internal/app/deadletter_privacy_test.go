package app

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestDeadLetterPrivacy runs privacy.roles [customer] with a dead-letter
// topic: an agent's segment the aligner rejects (out of order) is
// dead-lettered without its text, a customer's keeps it, and a malformed
// message (speaker unknown) is recorded by length without its value.
func TestDeadLetterPrivacy(t *testing.T) {
	k := newKafka(t, 1)
	addr := k.ListenAddrs()[0]
	produce(t, addr, inTopic,
		record{"agent", `{"stream_id":"agent","speaker":"agent","start":1,"end":2,"text":"fine","final":true}`},
		record{"agent", `{"stream_id":"agent","speaker":"agent","start":0.2,"end":0.5,"text":"agent secret","final":true}`},
		record{"cust", `{"stream_id":"cust","speaker":"customer","start":1,"end":2,"text":"fine","final":true}`},
		record{"cust", `{"stream_id":"cust","speaker":"customer","start":0.2,"end":0.5,"text":"customer words","final":true}`},
		record{"bad", `{"stream_id":"bad","text":"malformed secret","start":`},
	)
	cfg, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, "privacy: {roles: [customer]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	_, stop, _ := startApp(t, cfg, Options{})
	poll(t, "dead letters", func() error { return errCount("dead letters", len(deadLetters(t, addr)), 3) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dead := deadLetters(t, addr)
	find := func(stream string) deadLetterRecord {
		i := slices.IndexFunc(dead, func(d deadLetterRecord) bool { return d.StreamID == stream })
		if i < 0 {
			t.Fatalf("no dead letter for stream %q in %+v", stream, dead)
		}
		return dead[i]
	}
	text := func(d deadLetterRecord) string {
		b, err := json.Marshal(d.Item)
		if err != nil {
			t.Fatal(err)
		}
		var it struct{ Text, Speaker string }
		if err := json.Unmarshal(b, &it); err != nil {
			t.Fatal(err)
		}
		return it.Speaker + ":" + it.Text
	}
	if got := text(find("agent")); got != "agent:" {
		t.Errorf("agent's dead letter item %q, want speaker agent without text", got)
	}
	if got := text(find("cust")); got != "customer:customer words" {
		t.Errorf("customer's dead letter item %q, want its text", got)
	}
	bad := find("bad")
	if len(bad.Value) != 0 || bad.ValueBytes == 0 {
		t.Errorf("malformed message's dead letter value %q (%d bytes): want none, its length only", bad.Value, bad.ValueBytes)
	}
	if bad.Reason == "" {
		t.Error("malformed message's dead letter has no reason")
	}
}
