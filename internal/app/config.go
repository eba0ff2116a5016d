package app

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/ingest/kafka"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/ingest/websocket"
	"github.com/cmc-stream/cmc-stream/internal/insight"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/ops"
	"github.com/cmc-stream/cmc-stream/sink"
)

// Config is the YAML configuration of cmc-stream run. Zero values mean the
// documented defaults; Load decodes strictly (unknown keys are errors) and
// validates, naming the offending field by its YAML path.
type Config struct {
	// Model selects the model bundle.
	Model ModelConfig `yaml:"model"`
	// Text selects the text encoder.
	Text TextConfig `yaml:"text"`
	// Sources lists the inputs.
	Sources SourcesConfig `yaml:"sources"`
	// Window configures the aligner.
	Window WindowConfig `yaml:"window"`
	// Sinks lists the outputs; at least one is required.
	Sinks SinksConfig `yaml:"sinks"`
	// Privacy controls which speakers are scored and whether media is kept.
	Privacy PrivacyConfig `yaml:"privacy"`
	// Pipeline sizes the queues and workers.
	Pipeline PipelineConfig `yaml:"pipeline"`
	// Assets locates the files make setup fetches and the ONNX Runtime
	// library.
	Assets AssetsConfig `yaml:"assets"`
	// ASR turns on speech recognition of the audio sources; off when
	// absent.
	ASR *ASRConfig `yaml:"asr"`
	// Observability configures the operations port: /metrics, /healthz and
	// /readyz.
	Observability ObservabilityConfig `yaml:"observability"`
	// Insight configures per-call summaries and alert rules.
	Insight InsightConfig `yaml:"insight"`
}

// ObservabilityConfig configures the operations port, a listener of its own
// that serves /metrics (Prometheus), /healthz and /readyz whichever sinks
// run.
type ObservabilityConfig struct {
	// Listen is the host:port of the operations port, or "disabled" to
	// serve none. Default ops.DefaultAddr, 127.0.0.1:9464 (loopback: bind
	// a routable address deliberately; a warning is logged).
	Listen string `yaml:"listen"`
	// AllowedHosts are host names, besides the listen address and the
	// loopback names, that requests may name in their Host header (such as
	// the name Prometheus scrapes through); other names are refused (421).
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// ObservabilityDisabled is the ObservabilityConfig.Listen value that turns
// the operations port off.
const ObservabilityDisabled = "disabled"

// Addr returns the listen address of the operations port, "" when it is
// disabled.
func (o ObservabilityConfig) Addr() string {
	switch o.Listen {
	case ObservabilityDisabled:
		return ""
	case "":
		return ops.DefaultAddr
	}
	return o.Listen
}

// AssetsConfig locates the files make setup fetches (models, lexicons)
// and the ONNX Runtime library. The command resolves the defaults
// (internal/envconfig) before Build, which takes the paths as they are.
type AssetsConfig struct {
	// Dir is the folder of fetched assets (models/, lexicons/,
	// onnxruntime/). Default: $CMC_ASSETS, else the project's third_party
	// folder, found from the working directory or the executable upwards.
	Dir string `yaml:"dir"`
	// ONNXRuntime is the ONNX Runtime shared library, loaded once by the
	// command when a video source needs it. Default: $CMC_ORT_LIB, else
	// onnxruntime/libonnxruntime.so.1 below Dir.
	ONNXRuntime string `yaml:"onnxruntime"`
}

// InsightConfig configures the per-call summaries (cmc.call_summary.v1,
// published when a stream ends) and the alert rules (cmc.alert.v1). Both go
// to the stdout and HTTP sinks, to the Kafka topics sinks.kafka names, and
// to sinks.webhook.
type InsightConfig struct {
	// IdleTimeout ends a stream without events for this long with a
	// summary. Default insight.DefaultIdleTimeout (2m).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// EndGrace is how long after a Kafka end-of-call marker the call's last
	// windows may still arrive before its summary. Default: window.max_wait
	// plus window.allowed_lateness plus 1s.
	EndGrace time.Duration `yaml:"end_grace"`
	// Rules are the alert rules.
	Rules []AlertRule `yaml:"rules"`
}

// AlertRule is one alert rule (see insight.Rule for the language).
type AlertRule struct {
	// Name names the rule in its alerts; required, unique.
	Name string `yaml:"name"`
	// Speaker restricts the rule to one speaker. Default: every speaker,
	// each on its own.
	Speaker string `yaml:"speaker"`
	// When is the condition: "label LABEL for N consecutive windows",
	// "mean score over the last N windows below T", "score drop of D
	// within DURATION" or "conflict in N of the last M windows".
	When string `yaml:"when"`
}

// ModelConfig selects the model bundle.
type ModelConfig struct {
	// Bundle is the bundle directory (model.json + weights.safetensors);
	// required.
	Bundle string `yaml:"bundle"`
	// Threads is the number of goroutines of one forward pass. Default 1;
	// see threads.
	Threads int `yaml:"threads"`
}

// threads returns Threads, or 1 when unset.
func (m ModelConfig) threads() int { return max(m.Threads, 1) }

// TextConfig selects the text encoder.
type TextConfig struct {
	// Encoder is "lexicon" (the default: VADER/AFINN lexicon features and
	// hashed word pieces, no weights needed) or "bert" (a BERT ONNX export,
	// Model, through features/bert; its hidden size must be the bundle's
	// dims.text).
	Encoder string `yaml:"encoder"`
	// Model is the BERT ONNX export (inputs input_ids, attention_mask,
	// token_type_ids); required with encoder bert, refused otherwise.
	Model string `yaml:"model"`
	// Output is the BERT model's output of per-token hidden states.
	// Default "last_hidden_state"; only with encoder bert.
	Output string `yaml:"output"`
	// Lang is "en" (bert-base-uncased vocabulary, the default) or "zh"
	// (bert-base-chinese); see lang.
	Lang string `yaml:"lang"`
	// MaxLen is the number of token rows, [CLS] and [SEP] included.
	// Default: the model's lengths.text.
	MaxLen int `yaml:"max_len"`
}

// lang returns Lang, or "en" when unset.
func (t TextConfig) lang() string { return cmp.Or(t.Lang, "en") }

// SourcesConfig lists the inputs.
type SourcesConfig struct {
	// Video lists video inputs (camera, file or URL).
	Video []VideoSource `yaml:"video"`
	// Audio lists audio inputs (microphone or file).
	Audio []AudioSource `yaml:"audio"`
	// Transcripts is the transcript feed.
	Transcripts TranscriptSource `yaml:"transcripts"`
	// WebSocket accepts calls streamed over WebSocket by phone systems
	// (Twilio Media Streams) or any program (cmc-stream's JSON), one
	// stream per connection.
	WebSocket *WebSocketSource `yaml:"websocket"`
}

// WebSocketSource is a WebSocket listener of calls (see ingest/websocket).
type WebSocketSource struct {
	// Listen is the host:port to listen on. Default 127.0.0.1:8090: put a
	// TLS-terminating proxy in front (Twilio connects to wss:// only); an
	// address beyond loopback is logged as a warning.
	Listen string `yaml:"listen"`
	// Path is the endpoint's URL path. Default /stream.
	Path string `yaml:"path"`
	// Protocol is "twilio" (Twilio Media Streams) or "cmc" (JSON audio
	// chunks and transcript segments, as on the Kafka feed). Required.
	Protocol string `yaml:"protocol"`
	// TokenFile or TokenEnv names a file or an environment variable holding
	// a token every connection must present (Authorization: Bearer, a
	// token query parameter, or Twilio's custom parameter "token").
	// Default: none; at most one of the two.
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// Tracks maps Twilio's tracks to speaker roles. Default {inbound:
	// customer, outbound: agent}.
	Tracks map[string]string `yaml:"tracks"`
	// Channels maps the channels of stereo chunks (protocol cmc) to
	// speaker roles, as sources.transcripts.kafka.channels does.
	Channels ChannelRoles `yaml:"channels"`
	// MaxFrameBytes bounds a message, in bytes. Default 1 MiB.
	MaxFrameBytes int64 `yaml:"max_frame_bytes"`
	// IdleTimeout closes a connection silent for this long. Default 30s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// VideoSource is one video input.
type VideoSource struct {
	// StreamID names the stream the frames belong to; required.
	StreamID string `yaml:"stream_id"`
	// Device is a camera index ("0"), a file path or a URL; required.
	Device string `yaml:"device"`
	// FPS is the frame rate to sample at. Default DefaultVideoFPS (15),
	// half of video.DefaultFPS (the rate the capture assumes for a stream
	// that reports none): the expression model needs no more, and vision
	// is most of the CPU. See videoConfig.
	FPS float64 `yaml:"fps"`
	// Width and Height are the frame size in pixels. Default
	// DefaultVideoWidth x DefaultVideoHeight (320x240).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// Realtime paces file playback at the file's frame rate. Default true
	// for files.
	Realtime *bool `yaml:"realtime"`
}

// Defaults of the VideoSource fields.
const (
	// DefaultVideoFPS is the default VideoSource.FPS, in frames per
	// second.
	DefaultVideoFPS = 15
	// DefaultVideoWidth is the default VideoSource.Width, in pixels.
	DefaultVideoWidth = 320
	// DefaultVideoHeight is the default VideoSource.Height, in pixels.
	DefaultVideoHeight = 240
)

// videoConfig returns the capture configuration of v, defaults resolved.
func (v VideoSource) videoConfig() video.Config {
	return video.Config{Device: v.Device, FPS: cmp.Or(v.FPS, DefaultVideoFPS), Width: cmp.Or(v.Width, DefaultVideoWidth),
		Height: cmp.Or(v.Height, DefaultVideoHeight), Realtime: v.Realtime == nil || *v.Realtime}
}

// AudioSource is one audio input.
type AudioSource struct {
	// StreamID names the stream the audio belongs to; required.
	StreamID string `yaml:"stream_id"`
	// Device is a PortAudio input device name, or "default"; exclusive
	// with File.
	Device string `yaml:"device"`
	// File is a WAV file or a video file whose audio track is read with
	// ffmpeg; exclusive with Device.
	File string `yaml:"file"`
	// SampleRate is the capture rate in Hz. Default DefaultSampleRate
	// (16000); see sampleRate.
	SampleRate int `yaml:"sample_rate"`
	// Realtime paces file playback in real time. Default true; see
	// realtime.
	Realtime *bool `yaml:"realtime"`
	// Channels maps the channels of a stereo file (a call recording, G.711
	// or PCM) to speaker roles, such as {0: agent, 1: customer}, as
	// sources.transcripts.kafka.channels does for audio chunks: each
	// channel becomes the audio of its speaker in the stream, and a channel
	// left out is dropped when the file is decoded. Files only, not with
	// speech recognition. Default none: the channels are averaged.
	Channels ChannelRoles `yaml:"channels"`
}

// DefaultSampleRate is the default sample rate, in Hz, of audio sources
// (AudioSource.SampleRate): 16 kHz, the rate of audio.DefaultSampleRate and
// of telephony-grade speech recognisers.
const DefaultSampleRate = 16000

// sampleRate returns SampleRate, or DefaultSampleRate when unset.
func (a AudioSource) sampleRate() int { return cmp.Or(a.SampleRate, DefaultSampleRate) }

// realtime returns Realtime, or true when unset.
func (a AudioSource) realtime() bool { return a.Realtime == nil || *a.Realtime }

// TranscriptSource is the transcript feed: a JSONL file or a Kafka topic.
type TranscriptSource struct {
	// File is a JSONL file of transcript segments.
	File string `yaml:"file"`
	// Kafka is a Kafka topic of transcript segments, and optionally audio
	// chunks of the same streams (JSON values keyed by stream id).
	Kafka *KafkaInput `yaml:"kafka"`
}

// KafkaInput is a consumer-group subscription.
type KafkaInput struct {
	// Brokers are the seed brokers, host:port; required.
	Brokers []string `yaml:"brokers"`
	// Topic is the topic to read; required.
	Topic string `yaml:"topic"`
	// Security is the connection's TLS and SASL: the keys tls (ca_file,
	// cert_file, key_file, server_name, insecure_skip_verify with
	// allow_insecure) and sasl (mechanism plain, scram-sha-256 or
	// scram-sha-512, username, password_file or password_env). Default:
	// plaintext without authentication.
	Security kafkasec.Config `yaml:",inline"`
	// Group is the consumer group. Default DefaultGroup ("cmc-stream");
	// see group.
	Group string `yaml:"group"`
	// SessionTimeout is how long the group waits for a silent member (a
	// killed process) before it gives the member's partitions to the
	// others. Default 30s; the broker's group.min.session.timeout.ms
	// (6s by default) bounds it from below.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// HeartbeatInterval is the group heartbeat period, below
	// SessionTimeout. Default 3s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// RebalanceTimeout is how long a rebalance waits for the members to
	// rejoin. Default 30s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// MaxUnacked bounds the messages of one partition read but not yet
	// committed; at the bound that partition waits while the others go on.
	// It must exceed window.max_buffered, so that a stream whose audio
	// waits for its transcript overflows the aligner's buffer (counted in
	// the summary's drops) before it holds its partition back. Default
	// 10000 (kafka.DefaultMaxUnacked).
	MaxUnacked int `yaml:"max_unacked"`
	// MaxDecompressedBytes bounds a message after decompression, and the
	// memory a compressed record batch may claim, in bytes: a message above
	// it, or each message of a batch inflating beyond it (a compression
	// bomb), is rejected and dead-lettered with its offset. Default 16 MiB
	// (kafka.DefaultMaxDecompressedBytes); at most 1 GiB.
	MaxDecompressedBytes int `yaml:"max_decompressed_bytes"`
	// EventSeq chooses how the utterance windows of the topic's streams
	// are numbered in event ids: "start_ms" (the default) numbers a window
	// by its segment's start in milliseconds (since the Unix epoch for
	// wall-clock times, since the stream's start for offsets), so that a
	// segment delivered again after a crash or a rebalance gets the same
	// event id in any process of the group; "count" numbers each stream's
	// windows 0, 1, 2, ... in this process, which starts again at 0 after a
	// restart or when another process takes the stream over.
	EventSeq string `yaml:"event_seq"`
	// SampleRate, when set, is the only rate, in Hz, accepted for the
	// audio chunks the topic may carry next to the segments (JSON messages
	// with stream_id, start, sample_rate, encoding pcm16le, f32le, mulaw or
	// alaw, channels 1 or 2, and base64 samples, keyed by stream id); a
	// chunk at another rate is rejected. Default 0: any rate from
	// event.MinSampleRate (8000) to event.MaxSampleRate, which the audio
	// recipe resamples once, per window, to its own rate; a window whose
	// chunks have different rates fails.
	SampleRate int `yaml:"sample_rate"`
	// Channels maps the channels of stereo audio chunks to speaker roles,
	// such as {0: agent, 1: customer}: each channel becomes the audio of
	// its speaker in the stream, the audio of the utterance windows of that
	// speaker's segments (and, with sliding windows, of windows of its
	// own), so that privacy.roles scores one party of a call. A channel
	// left out is dropped. Default none: the channels are averaged.
	Channels ChannelRoles `yaml:"channels"`
}

// ChannelRoles maps audio channels (0 or 1) to speaker roles.
type ChannelRoles map[int]string

// validate checks the channel numbers and that the roles are set and
// distinct.
func (r ChannelRoles) validate(field string, bad func(field, format string, args ...any)) {
	seen := map[string]bool{}
	for ch, role := range r {
		switch {
		case ch < 0 || ch >= event.MaxChannels:
			bad(field, "channel %d: want 0 or 1", ch)
		case role == "":
			bad(field, "channel %d: empty role", ch)
		case seen[role]:
			bad(field, "role %q given to two channels", role)
		}
		seen[role] = true
	}
}

// numbering returns how the aligner numbers windows, and so event ids:
// with event_seq start_ms (the default), the utterance windows of Kafka
// transcripts are numbered by their segment's start, not by this process's
// count, so that the process that takes a partition over after a crash or
// a rebalance gives a redelivered segment the event id it had.
func (c *Config) numbering() align.Numbering {
	k := c.Sources.Transcripts.Kafka
	if k != nil && k.EventSeq != "count" && (c.Window.Policy == "" || c.Window.Policy == string(align.Utterance)) {
		return align.StartMillis
	}
	return align.Count
}

// DefaultGroup is the default KafkaInput.Group.
const DefaultGroup = "cmc-stream"

// group returns Group, or DefaultGroup when unset.
func (k *KafkaInput) group() string { return cmp.Or(k.Group, DefaultGroup) }

// WindowConfig configures the aligner (see align.Config).
type WindowConfig struct {
	// Policy is "utterance" (default) or "sliding".
	Policy string `yaml:"policy"`
	// Size and Hop shape sliding windows. Defaults 3s and 1s.
	Size time.Duration `yaml:"size"`
	Hop  time.Duration `yaml:"hop"`
	// AllowedLateness is how late an item may arrive. Default 0.
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// MaxWait is how long a due window waits for missing modalities.
	// Default 2s.
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxBuffered caps buffered media items per stream. Default 4096.
	MaxBuffered int `yaml:"max_buffered"`
	// IdleTimeout removes streams without input. Default
	// align.DefaultIdleTimeout (1m); see idleTimeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// idleTimeout returns IdleTimeout, or align.DefaultIdleTimeout when unset.
func (w WindowConfig) idleTimeout() time.Duration {
	return cmp.Or(w.IdleTimeout, align.DefaultIdleTimeout)
}

// SinksConfig lists the outputs.
type SinksConfig struct {
	// Stdout prints events on standard output.
	Stdout *StdoutSink `yaml:"stdout"`
	// Kafka produces events to a topic, keyed by stream id.
	Kafka *KafkaOutput `yaml:"kafka"`
	// HTTP serves the dashboard, /events (SSE) and /metrics; the probes are
	// on the operations port (Observability).
	HTTP *HTTPSink `yaml:"http"`
	// DeadLetter receives what the pipeline rejects: malformed transcript
	// messages, items that fail in a stage, and events a sink failed to
	// write after its retries. It is not an event sink.
	DeadLetter *DeadLetterSink `yaml:"dead_letter"`
	// Webhook POSTs the summaries and alerts (not the events) to a URL.
	Webhook *WebhookSink `yaml:"webhook"`
}

// WebhookSink POSTs each summary and alert as JSON, signed with
// X-CMC-Signature: sha256=<hex HMAC-SHA256 of the body>, retrying with
// back-off and giving up to the dead-letter topic (or the log without one).
type WebhookSink struct {
	// URL receives the POSTs; http or https, required.
	URL string `yaml:"url"`
	// SecretFile is a file holding the HMAC secret (at least 16 bytes,
	// trailing newlines removed); exclusive with SecretEnv, one required.
	SecretFile string `yaml:"secret_file"`
	// SecretEnv names an environment variable holding the secret.
	SecretEnv string `yaml:"secret_env"`
	// Timeout bounds one attempt. Default sink.DefaultWebhookTimeout (5s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is how many times a record is tried. Default
	// sink.DefaultWebhookAttempts (5).
	MaxAttempts int `yaml:"max_attempts"`
}

// DeadLetterSink is a Kafka topic of rejected input and failed items. Each
// message is one JSON object keyed by stream id: the reason, the node that
// failed, the source topic, partition and offset and the original bytes of a
// malformed message, or the failed window or event. A write is retried with
// back-off (100ms doubling to 5s) for RetryTimeout, and a transcript offset
// is committed only once its failure was written here: when the write gives
// up, the offset's partition stops advancing (/readyz says which and why)
// and the message is delivered again after a restart or a rebalance.
type DeadLetterSink struct {
	// Brokers are the seed brokers, host:port; required.
	Brokers []string `yaml:"brokers"`
	// Topic is the dead-letter topic; required.
	Topic string `yaml:"topic"`
	// Security is the connection's TLS and SASL: the keys tls (ca_file,
	// cert_file, key_file, server_name, insecure_skip_verify with
	// allow_insecure) and sasl (mechanism plain, scram-sha-256 or
	// scram-sha-512, username, password_file or password_env). Default:
	// plaintext without authentication.
	Security kafkasec.Config `yaml:",inline"`
	// RetryTimeout is how long one failed item's write is tried again.
	// Default 30s.
	RetryTimeout time.Duration `yaml:"retry_timeout"`
}

// StdoutSink prints events.
type StdoutSink struct {
	// Format is "jsonl" (default) or "text".
	Format string `yaml:"format"`
}

// KafkaOutput produces events.
type KafkaOutput struct {
	// Brokers are the seed brokers, host:port; required.
	Brokers []string `yaml:"brokers"`
	// Topic is the output topic; required.
	Topic string `yaml:"topic"`
	// Security is the connection's TLS and SASL: the keys tls (ca_file,
	// cert_file, key_file, server_name, insecure_skip_verify with
	// allow_insecure) and sasl (mechanism plain, scram-sha-256 or
	// scram-sha-512, username, password_file or password_env). Default:
	// plaintext without authentication.
	Security kafkasec.Config `yaml:",inline"`
	// BatchTimeout bounds how long the writer waits to fill a batch.
	// Default 10ms (the library default of 1s is too slow for live use).
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// BatchSize is the largest batch. Default 100.
	BatchSize int `yaml:"batch_size"`
	// RetryTimeout is how long the events of a failed write are written
	// again, with back-off from 100ms to 5s, before they go to the
	// dead-letter topic (or are reported failed without one). Default 30s.
	RetryTimeout time.Duration `yaml:"retry_timeout"`
	// SummariesTopic receives the per-call summaries. Default: none.
	SummariesTopic string `yaml:"summaries_topic"`
	// AlertsTopic receives the alerts. Default: none.
	AlertsTopic string `yaml:"alerts_topic"`
}

// HTTPSink serves events and the dashboard.
type HTTPSink struct {
	// Listen is the address to listen on. Default sink.DefaultHTTPAddr
	// (127.0.0.1:8080); see listen. Beyond loopback a warning is logged:
	// set a token.
	Listen string `yaml:"listen"`
	// AllowedHosts are host names, besides the listen address and the
	// loopback names, that requests may name in their Host header (a
	// proxy's public name); other names are refused (421).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// TokenFile is a file holding the bearer token that /events, the
	// dashboard and /metrics then require (see sink.HTTPConfig.Token);
	// exclusive with TokenEnv. Default: no token.
	TokenFile string `yaml:"token_file"`
	// TokenEnv is an environment variable holding the token; exclusive
	// with TokenFile.
	TokenEnv string `yaml:"token_env"`
	// MaxClients bounds the SSE clients. Default sink.DefaultMaxClients
	// (64).
	MaxClients int `yaml:"max_clients"`
	// MaxClientsPerAddr bounds the SSE clients of one remote address.
	// Default sink.DefaultMaxClientsPerAddr (8); raise it behind a proxy.
	MaxClientsPerAddr int `yaml:"max_clients_per_addr"`
	// ClientBuffer is the number of events queued per SSE client; a client
	// that stalls longer is disconnected. Default sink.DefaultClientBuffer
	// (256).
	ClientBuffer int `yaml:"client_buffer"`
	// Preview shows the video streams live on the dashboard: a few times a
	// second per stream (preview.DefaultInterval) the latest frame as a
	// small JPEG (at most preview.DefaultWidth pixels wide) with its face
	// boxes and expression probabilities, over SSE at /preview, only while
	// a dashboard is open. Frames are never written to disk. Default false.
	Preview bool `yaml:"preview"`
}

// listen returns Listen, or sink.DefaultHTTPAddr when unset.
func (h *HTTPSink) listen() string { return cmp.Or(h.Listen, sink.DefaultHTTPAddr) }

// PrivacyConfig controls what is scored and kept.
type PrivacyConfig struct {
	// Roles lists the speaker roles that get events (e.g. [customer]);
	// windows of other speakers are dropped and counted. Empty means every
	// speaker. Inferring the emotions of employees at work is prohibited in
	// the EU (AI Act, Art. 5(1)(f)): score customers only in call centres.
	Roles []string `yaml:"roles"`
	// RecordMedia must stay false: raw media is never written anywhere.
	// It exists so that a configuration can say so explicitly.
	RecordMedia bool `yaml:"record_media"`
}

// excludes reports whether Roles is set and leaves speaker out: nothing of
// such a speaker is scored, and its text and its own audio stop at the
// sources (see transcriptInput).
func (p PrivacyConfig) excludes(speaker string) bool {
	return len(p.Roles) > 0 && !slices.Contains(p.Roles, speaker)
}

// scored returns the channels of r whose roles p does not exclude: the
// others are dropped where the audio is split. It is nil only when r is
// (the channels are averaged then).
func (r ChannelRoles) scored(p PrivacyConfig) ChannelRoles {
	if r == nil {
		return nil
	}
	out := ChannelRoles{}
	for ch, role := range r {
		if !p.excludes(role) {
			out[ch] = role
		}
	}
	return out
}

// PipelineConfig sizes the pipeline.
type PipelineConfig struct {
	// Queue is the capacity of each queue between stages. Default
	// DefaultQueue (16); see queue.
	Queue int `yaml:"queue"`
	// Workers is the number of windows scored at once. Default 1; see
	// workers.
	Workers int `yaml:"workers"`
	// VisionWorkers is the number of video frames whose features are
	// computed at once, across all video sources, on threads of lower CPU
	// priority than window scoring. Default DefaultVisionWorkers(): half
	// the CPUs, at least one; see visionWorkers.
	VisionWorkers int `yaml:"vision_workers"`
	// ShutdownTimeout bounds the shutdown. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// The upper bounds Validate puts on sizes, so that a typo (queue: 1e12)
// is an error naming the field, not an allocation that kills the process.
const (
	maxQueue     = 1 << 16 // pipeline.queue, sinks.kafka.batch_size
	maxThreads   = 1024    // model.threads, pipeline.workers, pipeline.vision_workers
	maxTextLen   = 4096    // text.max_len, in token rows
	maxBuffered  = 1 << 20 // window.max_buffered, media items per stream
	maxUnacked   = 1 << 22 // sources.transcripts.kafka.max_unacked
	maxInflated  = 1 << 30 // sources.transcripts.kafka.max_decompressed_bytes
	maxFPS       = 240     // sources.video[].fps
	maxFrameSide = 8192    // sources.video[].width and height, pixels
)

// DefaultVisionWorkers is the default PipelineConfig.VisionWorkers: half
// the CPUs, at least one. Vision is most of the CPU at many streams
// (BlazeFace and mini-Xception on every frame); bounding it keeps the other
// cores for scoring windows, whose time adds to every event's latency (the
// README's Performance section has the figures).
func DefaultVisionWorkers() int { return max(1, runtime.NumCPU()/2) }

// DefaultQueue is the default PipelineConfig.Queue, in items.
const DefaultQueue = 16

// queue returns Queue, or DefaultQueue when unset.
func (p PipelineConfig) queue() int { return cmp.Or(p.Queue, DefaultQueue) }

// workers returns Workers, or 1 when unset.
func (p PipelineConfig) workers() int { return cmp.Or(p.Workers, 1) }

// visionWorkers returns VisionWorkers, or DefaultVisionWorkers() when
// unset.
func (p PipelineConfig) visionWorkers() int { return cmp.Or(p.VisionWorkers, DefaultVisionWorkers()) }

// LoadConfig reads, strictly decodes and validates the YAML file at path.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("app: config: %w", err)
	}
	c, err := DecodeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("app: config %s: %w", path, err)
	}
	return c, nil
}

// DecodeConfig strictly decodes YAML and validates the result.
func DecodeConfig(raw []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration")
		}
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every field and the rules across them; errors name the
// field by its YAML path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	tooBig := func(field string, v, limit float64) {
		if v > limit {
			bad(field, "%g is above the limit of %g", v, limit)
		}
	}
	badSecurity := func(block string, sec kafkasec.Config) {
		err := sec.Validate()
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				errs = append(errs, fmt.Errorf("%s.%w", block, e))
			}
		}
	}
	if c.Model.Bundle == "" {
		bad("model.bundle", "required")
	}
	if c.Model.Threads < 0 {
		bad("model.threads", "must not be negative")
	}
	switch c.Text.Encoder {
	case "", "lexicon":
		if c.Text.Model != "" {
			bad("text.model", "only with text.encoder bert")
		}
		if c.Text.Output != "" {
			bad("text.output", "only with text.encoder bert")
		}
	case "bert":
		if c.Text.Model == "" {
			bad("text.model", "required with text.encoder bert (a BERT ONNX export)")
		}
	default:
		bad("text.encoder", "%q is not a text encoder (want lexicon or bert)", c.Text.Encoder)
	}
	switch c.Text.Lang {
	case "", "en", "zh":
	default:
		bad("text.lang", "%q is not supported (want en or zh)", c.Text.Lang)
	}
	if c.Text.MaxLen < 0 {
		bad("text.max_len", "must not be negative")
	}
	for i, v := range c.Sources.Video {
		f := fmt.Sprintf("sources.video[%d]", i)
		if v.StreamID == "" {
			bad(f+".stream_id", "required")
		} else if err := event.ValidateStreamID(v.StreamID); err != nil {
			bad(f+".stream_id", "%v", err)
		}
		if v.Device == "" {
			bad(f+".device", "required (camera index, file or URL)")
		}
		if v.FPS < 0 || v.Width < 0 || v.Height < 0 {
			bad(f, "fps, width and height must not be negative")
		}
		tooBig(f+".fps", v.FPS, maxFPS)
		tooBig(f+".width", float64(v.Width), maxFrameSide)
		tooBig(f+".height", float64(v.Height), maxFrameSide)
	}
	for i, a := range c.Sources.Audio {
		f := fmt.Sprintf("sources.audio[%d]", i)
		if a.StreamID == "" {
			bad(f+".stream_id", "required")
		} else if err := event.ValidateStreamID(a.StreamID); err != nil {
			bad(f+".stream_id", "%v", err)
		}
		if (a.Device == "") == (a.File == "") {
			bad(f, "exactly one of device and file is required")
		}
		if a.SampleRate != 0 && (a.SampleRate < event.MinSampleRate || a.SampleRate > event.MaxSampleRate) {
			bad(f+".sample_rate", "%d Hz: want %d to %d, or 0 for the default", a.SampleRate, event.MinSampleRate, event.MaxSampleRate)
		}
		a.Channels.validate(f+".channels", bad)
		switch {
		case a.Channels != nil && a.File == "":
			bad(f+".channels", "only for a file")
		case a.Channels != nil && len(a.Channels) == 0:
			bad(f+".channels", "no channel has a role: give 0 or 1 a role, or leave channels out")
		}
		if a.Channels != nil && c.ASR != nil && c.ASR.recognises(a.StreamID) {
			bad(f+".channels", "speech recognition of stream %q takes one channel: leave channels out, or the stream out of asr.streams", a.StreamID)
		}
	}
	tr := c.Sources.Transcripts
	if tr.File != "" && tr.Kafka != nil {
		bad("sources.transcripts", "file and kafka are exclusive")
	}
	if k := tr.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			bad("sources.transcripts.kafka.brokers", "required")
		}
		if k.Topic == "" {
			bad("sources.transcripts.kafka.topic", "required")
		}
		switch k.EventSeq {
		case "", "count", "start_ms":
		default:
			bad("sources.transcripts.kafka.event_seq", "%q is not a numbering (want count or start_ms)", k.EventSeq)
		}
		if k.SampleRate != 0 && (k.SampleRate < event.MinSampleRate || k.SampleRate > event.MaxSampleRate) {
			bad("sources.transcripts.kafka.sample_rate", "%d Hz: want %d to %d, or 0 for any", k.SampleRate, event.MinSampleRate, event.MaxSampleRate)
		}
		if mu, mb := cmp.Or(k.MaxUnacked, kafka.DefaultMaxUnacked), cmp.Or(c.Window.MaxBuffered, align.DefaultMaxBuffered); k.MaxUnacked >= 0 && mu <= mb {
			bad("sources.transcripts.kafka.max_unacked", "%d must exceed window.max_buffered (%d): a stream's buffered audio would hold its partition back", mu, mb)
		}
		if k.MaxUnacked < 0 {
			bad("sources.transcripts.kafka.max_unacked", "must not be negative")
		}
		tooBig("sources.transcripts.kafka.max_unacked", float64(k.MaxUnacked), maxUnacked)
		if k.MaxDecompressedBytes < 0 {
			bad("sources.transcripts.kafka.max_decompressed_bytes", "must not be negative")
		}
		tooBig("sources.transcripts.kafka.max_decompressed_bytes", float64(k.MaxDecompressedBytes), maxInflated)
		k.Channels.validate("sources.transcripts.kafka.channels", bad)
		if k.SessionTimeout < 0 || k.HeartbeatInterval < 0 || k.RebalanceTimeout < 0 {
			bad("sources.transcripts.kafka", "session_timeout, heartbeat_interval and rebalance_timeout must not be negative")
		}
		if k.SessionTimeout > 0 && k.HeartbeatInterval >= k.SessionTimeout {
			bad("sources.transcripts.kafka.heartbeat_interval", "%v is not below session_timeout %v", k.HeartbeatInterval, k.SessionTimeout)
		}
		badSecurity("sources.transcripts.kafka", k.Security)
	}
	if w := c.Sources.WebSocket; w != nil {
		if err := w.config("").Validate(); err != nil {
			bad("sources.websocket", "%v", err)
		}
		if w.TokenFile != "" && w.TokenEnv != "" {
			bad("sources.websocket", "token_file and token_env are exclusive")
		}
		w.Channels.validate("sources.websocket.channels", bad)
	}
	if len(c.Sources.Video) == 0 && len(c.Sources.Audio) == 0 && tr.File == "" && tr.Kafka == nil && c.Sources.WebSocket == nil {
		bad("sources", "at least one source is required")
	}
	w := c.Window
	switch w.Policy {
	case "", "utterance":
		if w.Size != 0 || w.Hop != 0 {
			bad("window.size", "size and hop apply to the sliding policy only")
		}
	case "sliding":
	default:
		bad("window.policy", "%q is not a policy (want utterance or sliding)", w.Policy)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"size", w.Size}, {"hop", w.Hop}, {"allowed_lateness", w.AllowedLateness}, {"max_wait", w.MaxWait}, {"idle_timeout", w.IdleTimeout}} {
		if d.v < 0 {
			bad("window."+d.name, "must not be negative")
		}
	}
	if w.MaxBuffered < 0 {
		bad("window.max_buffered", "must not be negative")
	}
	s := c.Sinks
	if s.Stdout == nil && s.Kafka == nil && s.HTTP == nil {
		bad("sinks", "at least one sink is required")
	}
	if s.Stdout != nil && s.Stdout.Format != "" && s.Stdout.Format != "jsonl" && s.Stdout.Format != "text" {
		bad("sinks.stdout.format", "%q is not a format (want jsonl or text)", s.Stdout.Format)
	}
	if k := s.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			bad("sinks.kafka.brokers", "required")
		}
		if k.Topic == "" {
			bad("sinks.kafka.topic", "required")
		}
		if k.BatchTimeout < 0 || k.BatchSize < 0 || k.RetryTimeout < 0 {
			bad("sinks.kafka", "batch_timeout, batch_size and retry_timeout must not be negative")
		}
		badSecurity("sinks.kafka", k.Security)
	}
	if d := s.DeadLetter; d != nil {
		if len(d.Brokers) == 0 {
			bad("sinks.dead_letter.brokers", "required")
		}
		if d.Topic == "" {
			bad("sinks.dead_letter.topic", "required")
		}
		badSecurity("sinks.dead_letter", d.Security)
		if d.RetryTimeout < 0 {
			bad("sinks.dead_letter.retry_timeout", "must not be negative")
		}
	}
	if h := s.HTTP; h != nil {
		if h.TokenFile != "" && h.TokenEnv != "" {
			bad("sinks.http", "token_file and token_env are exclusive")
		}
		if h.MaxClients < 0 || h.MaxClientsPerAddr < 0 || h.ClientBuffer < 0 {
			bad("sinks.http", "max_clients, max_clients_per_addr and client_buffer must not be negative")
		}
	}
	if h := s.HTTP; h != nil && h.Listen != "" {
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			bad("sinks.http.listen", "%v", err)
		}
	}
	if l := c.Observability.Listen; l != "" && l != ObservabilityDisabled {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("observability.listen", "%v (want host:port or %s)", err, ObservabilityDisabled)
		}
	}
	if w := s.Webhook; w != nil {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("sinks.webhook.url", "%q is not an http or https URL", w.URL)
		}
		if (w.SecretFile == "") == (w.SecretEnv == "") {
			bad("sinks.webhook", "exactly one of secret_file and secret_env is required (secrets are never written in the configuration)")
		}
		if w.Timeout < 0 || w.MaxAttempts < 0 {
			bad("sinks.webhook", "timeout and max_attempts must not be negative")
		}
	}
	if in := c.Insight; in.IdleTimeout < 0 || in.EndGrace < 0 {
		bad("insight", "idle_timeout and end_grace must not be negative")
	}
	seen := map[string]bool{}
	for i, r := range c.Insight.Rules {
		f := fmt.Sprintf("insight.rules[%d]", i)
		if _, err := insight.ParseRule(insight.Rule{Name: r.Name, Speaker: r.Speaker, When: r.When}); err != nil {
			bad(f, "%v", err)
		}
		if seen[r.Name] {
			bad(f+".name", "%q used twice", r.Name)
		}
		seen[r.Name] = true
	}
	if c.Privacy.RecordMedia {
		bad("privacy.record_media", "recording raw media is not supported: cmc-stream never writes media")
	}
	p := c.Pipeline
	if p.Queue < 0 || p.Workers < 0 || p.VisionWorkers < 0 || p.ShutdownTimeout < 0 {
		bad("pipeline", "queue, workers, vision_workers and shutdown_timeout must not be negative")
	}
	tooBig("model.threads", float64(c.Model.Threads), maxThreads)
	tooBig("text.max_len", float64(c.Text.MaxLen), maxTextLen)
	tooBig("window.max_buffered", float64(c.Window.MaxBuffered), maxBuffered)
	tooBig("pipeline.queue", float64(p.Queue), maxQueue)
	tooBig("pipeline.workers", float64(p.Workers), maxThreads)
	tooBig("pipeline.vision_workers", float64(p.VisionWorkers), maxThreads)
	if k := c.Sinks.Kafka; k != nil {
		tooBig("sinks.kafka.batch_size", float64(k.BatchSize), maxQueue)
	}
	if c.ASR != nil {
		c.ASR.validate(c, bad)
	}
	return errors.Join(errs...)
}

// config returns the websocket source's configuration with token.
func (w *WebSocketSource) config(token string) websocket.Config {
	return websocket.Config{Listen: w.Listen, Path: w.Path, Protocol: w.Protocol, Token: token, Tracks: w.Tracks,
		MaxFrameBytes: w.MaxFrameBytes, IdleTimeout: w.IdleTimeout}
}

// maxTokenBytes bounds a token file.
const maxTokenBytes = 4096

// token reads the token from TokenFile or TokenEnv; "" without either.
func (w *WebSocketSource) token() (string, error) {
	switch {
	case w.TokenEnv != "":
		t := os.Getenv(w.TokenEnv)
		if t == "" {
			return "", fmt.Errorf("app: sources.websocket.token_env: environment variable %s is not set", w.TokenEnv)
		}
		return t, nil
	case w.TokenFile != "":
		f, err := os.Open(w.TokenFile)
		if err != nil {
			return "", fmt.Errorf("app: sources.websocket.token_file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
		t := strings.TrimRight(string(b), "\r\n")
		switch {
		case err != nil:
			return "", fmt.Errorf("app: sources.websocket.token_file: %w", err)
		case len(b) > maxTokenBytes || t == "":
			return "", fmt.Errorf("app: sources.websocket.token_file %s: want a token of 1 to %d bytes", w.TokenFile, maxTokenBytes)
		}
		return t, nil
	}
	return "", nil
}

// scoredParties returns the roles of parties (see parties) whose windows
// are scored: all of them, or those privacy.roles names.
func (c *Config) scoredParties() []string {
	parties := c.parties()
	if len(c.Privacy.Roles) == 0 {
		return parties
	}
	return slices.DeleteFunc(parties, func(p string) bool { return !slices.Contains(c.Privacy.Roles, p) })
}

// videoScored reports whether a window with video can be scored: video
// frames go to the windows of their stream id, not to those of a party
// with audio of its own (see parties), so when privacy.roles names only
// such parties no frame would reach a scored window, and the video
// sources are not opened at all.
func (c *Config) videoScored() bool {
	parties := c.parties()
	return len(c.Privacy.Roles) == 0 || slices.ContainsFunc(c.Privacy.Roles, func(r string) bool { return !slices.Contains(parties, r) })
}

// parties returns the speaker roles that have audio of their own: the
// roles of the channels of audio files, Kafka and WebSocket audio, and of
// Twilio's tracks. A segment of such a speaker is aligned with that speaker's audio.
func (c *Config) parties() []string {
	var roles []string
	add := func(m map[int]string) {
		for _, r := range m {
			roles = append(roles, r)
		}
	}
	for _, a := range c.Sources.Audio {
		add(a.Channels)
	}
	if k := c.Sources.Transcripts.Kafka; k != nil {
		add(k.Channels)
	}
	if w := c.Sources.WebSocket; w != nil {
		add(w.Channels)
		if w.Protocol == websocket.Twilio {
			tracks := w.Tracks
			if tracks == nil {
				tracks = websocket.DefaultTracks
			}
			for _, r := range tracks {
				roles = append(roles, r)
			}
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}
