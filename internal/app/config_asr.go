package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/features/asr"
	"github.com/cmc-stream/cmc-stream/features/vad"
)

// ASRConfig turns on built-in speech recognition: each audio stream is cut
// into speech segments by voice activity (Silero VAD) and each segment is
// recognised into a final transcript segment, which makes utterance
// windows like a transcript feed's segments do.
type ASRConfig struct {
	// Engine is the recogniser: "pocketsphinx" (the default and only
	// one).
	Engine string `yaml:"engine"`
	// Lang is the language of the speech: "en" (the default; Debian ships
	// no other PocketSphinx model).
	Lang string `yaml:"lang"`
	// ModelDir is the folder of PocketSphinx's models. Default: the
	// command's $CMC_POCKETSPHINX_MODEL, else Debian's
	// /usr/share/pocketsphinx/model (asr.DefaultModelDir).
	ModelDir string `yaml:"model_dir"`
	// Streams lists the audio streams to recognise. Default: every
	// stream of sources.audio.
	Streams []string `yaml:"streams"`
	// Threshold is the voice-activity probability that starts speech, in
	// (0, 1). Default 0.5.
	Threshold float32 `yaml:"threshold"`
	// MinSilence is the silence that ends a segment. Default 300ms.
	MinSilence time.Duration `yaml:"min_silence"`
	// MaxSegment is the longest segment; longer speech is cut. Default
	// 15s.
	MaxSegment time.Duration `yaml:"max_segment"`
	// Kafka, when set, also produces each recognised segment to a topic as
	// a transcript message (the schema of sources.transcripts, wall-clock
	// times), keyed by stream id, for other consumers.
	Kafka *ASRKafka `yaml:"kafka"`
}

// ASRKafka is the topic recognised segments are produced to.
type ASRKafka struct {
	// Brokers are the seed brokers, host:port; required.
	Brokers []string `yaml:"brokers"`
	// Topic is the topic to write; required.
	Topic string `yaml:"topic"`
}

// endpointing returns the endpointer settings of c.
func (c *ASRConfig) endpointing() vad.EndpointConfig {
	return vad.EndpointConfig{Threshold: c.Threshold, MinSilence: c.MinSilence, MaxSegment: c.MaxSegment}
}

// recognises reports whether stream's audio is recognised.
func (c *ASRConfig) recognises(stream string) bool {
	return c != nil && (len(c.Streams) == 0 || slices.Contains(c.Streams, stream))
}

// validate checks c against the sources of cfg; bad records an error
// for a field.
func (c *ASRConfig) validate(cfg *Config, bad func(field, format string, args ...any)) {
	if err := asr.CheckEngine(c.Engine); err != nil {
		bad("asr.engine", "%q is not an engine (available: %s)", c.Engine, strings.Join(asr.Engines, ", "))
	}
	if err := asr.CheckLanguage(c.Lang); err != nil {
		bad("asr.lang", "%q is not supported (available: %s)", c.Lang, strings.Join(asr.Languages(), ", "))
	}
	if err := c.endpointing().Validate(); err != nil {
		bad("asr", "%v", err)
	}
	if len(cfg.Sources.Audio) == 0 {
		bad("asr", "needs an audio source (sources.audio)")
	}
	if cfg.Privacy.excludes("") {
		// Nothing of the recogniser would be scored, and asr.kafka would
		// publish text of speakers the roles leave out.
		bad("asr", "its segments have no speaker, which privacy.roles %q excludes: leave out asr or privacy.roles", cfg.Privacy.Roles)
	}
	for _, s := range c.Streams {
		if !slices.ContainsFunc(cfg.Sources.Audio, func(a AudioSource) bool { return a.StreamID == s }) {
			bad("asr.streams", "%q is not a stream of sources.audio", s)
		}
	}
	for i, a := range cfg.Sources.Audio {
		if c.recognises(a.StreamID) && a.SampleRate != 0 && a.SampleRate != asr.SampleRate {
			bad(fmt.Sprintf("sources.audio[%d].sample_rate", i), "%d Hz: speech recognition needs %d Hz", a.SampleRate, asr.SampleRate)
		}
	}
	if k := c.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			bad("asr.kafka.brokers", "required")
		}
		if k.Topic == "" {
			bad("asr.kafka.topic", "required")
		}
	}
}
