package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// TestDemoASR runs "cmc-stream demo --asr" on the showcase: each of its
// utterances yields one event whose transcript was recognised, and the
// end prints the bundled and the recognised transcripts and the WER.
func TestDemoASR(t *testing.T) {
	utts, err := readDemoTranscript("../../" + demoTranscript)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	t.Chdir("../..")
	if code := Main(ctx, []string{"demo", "--asr", "--json", "--no-dashboard", "--broker-addr", "127.0.0.1:0"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var evs []event.Event
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Schema == event.Schema { // not the alerts and the summary
			evs = append(evs, e)
		}
	}
	if len(evs) != len(utts) {
		t.Fatalf("%d events, want one per utterance (%d); stderr:\n%s", len(evs), len(utts), stderr.String())
	}
	for i, e := range evs {
		if e.TranscriptSource != "asr" || e.Transcript == "" || !e.Modalities.Vision.Present || !e.Modalities.Audio.Present {
			t.Errorf("event %d: transcript_source %q, transcript %q, modalities %v", i, e.TranscriptSource, e.Transcript, e.Modalities.Present())
		}
	}
	out := stderr.String()
	for _, want := range []string{"transcripts: 7 utterances bundled, 7 recognised", `bundled    1: "` + utts[0].Text + `"`, "recognised 7: ", "word error rate "} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}
