package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigs loads every file in configs/.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadConfig(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	base, err := os.ReadFile("../../configs/files.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []configCase{
		{"unknown key", "policy: utterance", "polcy: utterance", "field polcy not found"},
		{"bad policy", "policy: utterance", "policy: tumbling", `window.policy: "tumbling" is not a policy`},
		{"no bundle", "bundle: demo/model", "bundle: \"\"", "model.bundle: required"},
		{"sliding field on utterance", "allowed_lateness: 200ms", "hop: 1s", "window.size: size and hop apply to the sliding policy only"},
		{"negative wait", "max_wait: 30s", "max_wait: -2s", "window.max_wait: must not be negative"},
		{"bad duration", "max_wait: 30s", "max_wait: soon", "line 24: cannot unmarshal !!str `soon` into time.Duration"},
		{"audio device and file", "file: demo/media/showcase.wav", "file: demo/media/showcase.wav\n      device: default", "sources.audio[0]: exactly one of device and file"},
		{"video without stream", "- stream_id: showcase\n      device: demo", "- device: demo", "sources.video[0].stream_id: required"},
		{"bad format", "format: jsonl", "format: xml", `sinks.stdout.format: "xml"`},
		{"record media", "sinks:", "privacy:\n  record_media: true\nsinks:", "privacy.record_media"},
		{"no sinks", "sinks:\n  stdout:\n    format: jsonl", "", "sinks: at least one sink is required"},
		{"queue of 1e12", "sinks:", "pipeline:\n  queue: 1e12\nsinks:", "pipeline.queue: 1e+12 is above the limit of 65536"},
		{"workers of a million", "sinks:", "pipeline:\n  workers: 1000000\nsinks:", "pipeline.workers: 1e+06 is above the limit of 1024"},
		{"audio at 1 Hz", "file: demo/media/showcase.wav", "file: demo/media/showcase.wav\n      sample_rate: 1", "sources.audio[0].sample_rate: 1 Hz: want 8000 to 192000"},
		{"stream id with a newline", "- stream_id: showcase\n      device: demo", "- stream_id: \"show\\ncase\"\n      device: demo", "sources.video[0].stream_id: invalid stream id: byte 4 is '\\n'"},
		{"huge frames", "fps: 15", "fps: 15\n      width: 100000", "sources.video[0].width: 100000 is above the limit of 8192"},
		{"audio channel 2", "file: demo/media/showcase.wav", "file: demo/media/showcase.wav\n      channels: {2: customer}", "sources.audio[0].channels: channel 2: want 0 or 1"},
		{"audio channels without roles", "file: demo/media/showcase.wav", "file: demo/media/showcase.wav\n      channels: {}", "sources.audio[0].channels: no channel has a role"},
		{"audio channels of a device", "file: demo/media/showcase.wav", "device: default\n      channels: {0: agent}", "sources.audio[0].channels: only for a file"},
		{"huge aligner buffer", "max_wait: 30s", "max_wait: 30s\n  max_buffered: 1e9", "window.max_buffered: 1e+09 is above the limit"},
	}
	checkConfigErrors(t, string(base), cases)
	kafkaCases := []configCase{
		{"dead letter without topic", "topic: calls.dead-letter", "topic: \"\"", "sinks.dead_letter.topic: required"},
		{"heartbeat not below session", "heartbeat_interval: 1s", "heartbeat_interval: 10s", "sources.transcripts.kafka.heartbeat_interval"},
		{"negative session timeout", "session_timeout: 10s", "session_timeout: -1s", "must not be negative"},
		{"unknown event numbering", "event_seq: start_ms", "event_seq: offset", `sources.transcripts.kafka.event_seq: "offset"`},
		{"max_unacked not above max_buffered", "event_seq: start_ms", "event_seq: start_ms\n      max_unacked: 4096", "sources.transcripts.kafka.max_unacked: 4096 must exceed window.max_buffered (4096)"},
		{"negative decompression bound", "event_seq: start_ms", "event_seq: start_ms\n      max_decompressed_bytes: -1", "sources.transcripts.kafka.max_decompressed_bytes: must not be negative"},
		{"decompression bound of 1e12", "event_seq: start_ms", "event_seq: start_ms\n      max_decompressed_bytes: 1e12", "sources.transcripts.kafka.max_decompressed_bytes: 1e+12 is above the limit"},
		{"dead-letter retry negative", "topic: calls.dead-letter", "topic: calls.dead-letter\n    retry_timeout: -1s", "sinks.dead_letter.retry_timeout: must not be negative"},
	}
	kafkaBase, err := os.ReadFile("../../configs/kafka-callcentre.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkConfigErrors(t, string(kafkaBase), kafkaCases)
	if _, err := DecodeConfig(nil); err == nil {
		t.Error("empty config accepted")
	}
}

// configCase is a config made invalid by replacing from with to, and the
// error it must give.
type configCase struct {
	name, from, to, want string
}

// checkConfigErrors decodes base with each case's replacement and checks
// the error.
func checkConfigErrors(t *testing.T, base string, cases []configCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.from) {
				t.Fatalf("base config lacks %q", c.from)
			}
			_, err := DecodeConfig([]byte(strings.Replace(base, c.from, c.to, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestConfigDefaults checks that the zero fields resolve to the defaults
// the README and the field docs state (15 fps at 320x240, 16 kHz audio,
// group cmc-stream, queues of 16, one scoring worker).
func TestConfigDefaults(t *testing.T) {
	v := VideoSource{Device: "0"}.videoConfig()
	if v.FPS != 15 || v.Width != 320 || v.Height != 240 || !v.Realtime {
		t.Errorf("video defaults = %g fps %dx%d realtime %v, want 15 fps 320x240 realtime", v.FPS, v.Width, v.Height, v.Realtime)
	}
	if r := (AudioSource{}).sampleRate(); r != 16000 {
		t.Errorf("audio sample rate default = %d, want 16000", r)
	}
	k := &KafkaInput{}
	if k.group() != "cmc-stream" {
		t.Errorf("kafka default group %q, want cmc-stream", k.group())
	}
	var p PipelineConfig
	if p.queue() != 16 || p.workers() != 1 || p.visionWorkers() < 1 {
		t.Errorf("pipeline defaults = queue %d, workers %d, vision workers %d", p.queue(), p.workers(), p.visionWorkers())
	}
	off := false
	if (AudioSource{Realtime: &off}).realtime() || (VideoSource{Realtime: &off}).videoConfig().Realtime {
		t.Error("realtime: false is not kept")
	}
}
