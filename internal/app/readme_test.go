package app

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/readmetest"
	"github.com/cmc-stream/cmc-stream/internal/schematest"
)

// TestREADMEExamples checks every YAML and JSON example of README.md with
// the code that reads such input, so that an example cannot name a key the
// configuration does not accept or show a message the decoders refuse:
//   - the configuration reference decodes strictly (every key known), and
//     validates but for the two alternatives it shows side by side (the
//     sliding policy's size and hop under the utterance policy; asr beside
//     privacy.roles, which the README says is refused);
//   - the WebSocket and the TLS/SASL excerpts, placed in a minimal
//     configuration, decode and validate;
//   - the transcript segment, audio chunk and end-of-call messages decode
//     with the decoders of the Kafka and file sources (the chunk's
//     "<base64>" replaced by one 20 ms frame of the stated encoding);
//   - the event, alert and summary lines validate against event/schema.
//
// The XML (TwiML) block is Twilio's input, replayed by TestTwilioCall; the
// sh block's commands, like every command line of the README, are checked
// by TestREADMECommands in internal/cli.
func TestREADMEExamples(t *testing.T) {
	doc, err := readmetest.Read("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, b := range doc.Blocks {
		name := fmt.Sprintf("README.md:%d", b.Line)
		switch {
		case b.Lang == "yaml" && strings.HasPrefix(b.Text, "model:"):
			checked++
			checkReferenceConfig(t, name, b.Text)
		case b.Lang == "yaml" && strings.HasPrefix(b.Text, "sources:\n  websocket:"):
			checked++
			cfg := "model: {bundle: demo/model}\n" + b.Text + "sinks: {stdout: {}}\n"
			if _, err := DecodeConfig([]byte(cfg)); err != nil {
				t.Errorf("%s (the WebSocket source): %v", name, err)
			}
		case b.Lang == "yaml" && strings.HasPrefix(b.Text, "      tls:"):
			checked++
			cfg := "model: {bundle: demo/model}\nsources:\n  transcripts:\n    kafka:\n      brokers: [host:9093]\n      topic: calls\n" +
				b.Text + "sinks: {stdout: {}}\n"
			if _, err := DecodeConfig([]byte(cfg)); err != nil {
				t.Errorf("%s (TLS and SASL of a Kafka block): %v", name, err)
			}
		case b.Lang == "json":
			for i, line := range jsonRecords(b.Text) {
				checked++
				if err := checkREADMEMessage(line); err != nil {
					t.Errorf("%s, record %d: %v\n%s", name, i+1, err, line)
				}
			}
		case b.Lang == "yaml":
			t.Errorf("%s: a YAML block this test does not know: say how to check it", name)
		}
	}
	// The README's examples at the time of writing: the reference, the
	// WebSocket and TLS excerpts, an event, an alert and a summary, a
	// segment, an audio chunk and an end-of-call marker.
	if checked < 9 {
		t.Errorf("checked %d README examples, want at least 9: did the blocks' layout change?", checked)
	}
}

// checkReferenceConfig decodes the configuration reference strictly and
// validates it: its only errors may be the documented alternatives.
func checkReferenceConfig(t *testing.T, name, text string) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s (the configuration reference): %v", name, err)
	}
	alternatives := []string{
		"window.size: size and hop apply to the sliding policy only",
		"asr: its segments have no speaker, which privacy.roles",
	}
	err := c.Validate()
	if err == nil {
		t.Fatalf("%s: the reference validates; drop the alternatives from this test", name)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !slices.ContainsFunc(alternatives, func(a string) bool { return strings.HasPrefix(line, a) }) {
			t.Errorf("%s (the configuration reference): %s", name, line)
		}
	}
}

// jsonRecords splits a JSON block into its records: a line starting with
// "{" begins one, continuation lines start with a space.
func jsonRecords(text string) []string {
	var recs []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "{") || len(recs) == 0 {
			recs = append(recs, line)
			continue
		}
		recs[len(recs)-1] += "\n" + line
	}
	return recs
}

// checkREADMEMessage checks one JSON example: a record with a schema
// validates against it, an end-of-call marker, an audio chunk and a
// transcript segment decode as the sources decode them.
func checkREADMEMessage(msg string) error {
	var head struct {
		Schema    string `yaml:"schema"`
		EndOfCall bool   `yaml:"end_of_call"`
		Samples   string `yaml:"samples"`
	}
	if err := yaml.Unmarshal([]byte(msg), &head); err != nil { // JSON is YAML
		return err
	}
	switch {
	case head.Schema != "":
		return schematest.ValidateJSON([]byte(msg))
	case head.EndOfCall:
		id, err := event.DecodeEndOfCall([]byte(msg))
		if err == nil && id == "" {
			err = fmt.Errorf("no stream id")
		}
		return err
	case head.Samples != "":
		// One 20 ms frame of one byte per sample per channel (G.711), as
		// the chunk's encoding, rate and channels state.
		var c struct {
			Rate     int `yaml:"sample_rate"`
			Channels int `yaml:"channels"`
		}
		if err := yaml.Unmarshal([]byte(msg), &c); err != nil {
			return err
		}
		frame := base64.StdEncoding.EncodeToString(make([]byte, c.Rate/50*max(c.Channels, 1)))
		_, err := event.DecodeAudioChunk([]byte(strings.Replace(msg, `"<base64>"`, `"`+frame+`"`, 1)))
		return err
	default:
		_, err := event.DecodeSegment([]byte(msg))
		return err
	}
}
