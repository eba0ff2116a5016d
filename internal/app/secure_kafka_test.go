package app

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec/kafkasectest"
)

// The topics of configs/kafka-secure.yaml.
const (
	secureIn   = "calls.transcripts"
	secureOut  = "calls.sentiment"
	secureDead = "calls.dead-letter"
)

// secureConfig is configs/kafka-secure.yaml pointed at the test broker s,
// with its certificate authority caFile, a small test bundle and the HTTP
// sink on a free port.
func secureConfig(t *testing.T, s *kafkasectest.Secured, caFile string) *Config {
	t.Helper()
	raw, err := os.ReadFile("../../configs/kafka-secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.NewReplacer(
		"kafka.example.com:9093", s.Broker.Addr(),
		"/etc/cmc-stream/kafka-ca.pem", caFile,
		"username: cmc-stream", "username: "+kafkasectest.User,
		"password_env: CMC_KAFKA_PASSWORD", "password_env: "+kafkasectest.PasswordEnv,
		"bundle: demo/model", "bundle: "+textBundle(t)+"\ntext: {max_len: 24}",
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:0",
		"max_wait: 500ms", "max_wait: 200ms",
		"group: cmc-stream", "group: cmc-stream\n      session_timeout: 6s\n      heartbeat_interval: 200ms\n      rebalance_timeout: 3s",
	).Replace(string(raw))
	cfg, err := DecodeConfig([]byte(y + testAssetsYAML))
	if err != nil {
		t.Fatalf("configs/kafka-secure.yaml: %v\n%s", err, y)
	}
	return cfg
}

// secureProduce writes records to topic over s's TLS and SASL.
func secureProduce(t *testing.T, s *kafkasectest.Secured, topic string, recs ...record) {
	t.Helper()
	tr, err := s.Security.Transport()
	if err != nil {
		t.Fatal(err)
	}
	produceWith(t, tr, s.Broker.Addr(), topic, recs...)
}

// secureRead reads n messages of partition 0 of topic over s's TLS and
// SASL.
func secureRead(t *testing.T, s *kafkasectest.Secured, topic string, n int) []kafkago.Message {
	t.Helper()
	d, err := s.Security.Dialer(0)
	if err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{s.Broker.Addr()}, Topic: topic, Dialer: d, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(t.Context(), kafkaWait)
	defer cancel()
	var out []kafkago.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: %d of %d messages: %v", topic, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSecuredKafkaEndToEnd runs configs/kafka-secure.yaml against a broker
// that requires TLS (a certificate authority made in the test) and SASL
// SCRAM-SHA-512 on every connection: transcripts in, events out, /readyz
// ready, and no plaintext client gets through.
func TestSecuredKafkaEndToEnd(t *testing.T) {
	s := kafkasectest.Start(t, kafkasec.ScramSHA512, secureIn, secureOut, secureDead)
	secureProduce(t, s, secureIn, seg("call-1", 1, 2, "thank you so much"), seg("call-1", 2.5, 3.5, "this is awful"),
		record{"call-1", `{"stream_id":"call-1","start":"x"}`})
	app, stop, _ := startApp(t, secureConfig(t, s, s.PKI.CAFile), Options{})
	web := app.OpsAddr()
	var evs []event.Event
	for _, m := range secureRead(t, s, secureOut, 2) {
		var e event.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if evs[0].EventID != "call-1/utt/1000" || evs[1].EventID != "call-1/utt/2500" || evs[1].Transcript != "this is awful" {
		t.Errorf("events %s, %s (%q), want call-1/utt/1000 and call-1/utt/2500 (\"this is awful\")", evs[0].EventID, evs[1].EventID, evs[1].Transcript)
	}
	dead := secureRead(t, s, secureDead, 1)
	if !strings.Contains(string(dead[0].Value), `"node":"source"`) {
		t.Errorf("dead letter %s, want the malformed message", dead[0].Value)
	}
	code, body, err := readyz(web)
	if err != nil || code != http.StatusOK {
		t.Errorf("/readyz = %d %q, %v; want 200", code, body, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The broker refuses a plaintext client.
	conn, err := kafkago.DialContext(t.Context(), "tcp", s.Broker.Addr())
	if err == nil {
		_, err = conn.ReadPartitions(secureIn)
		conn.Close()
	}
	if err == nil {
		t.Error("a plaintext client read the secured broker's metadata")
	}
}

// TestSecuredKafkaRefused starts the pipeline with a wrong password, then
// with a certificate authority that did not sign the broker's certificate:
// /readyz turns not ready naming the broker, the mechanism and the cause,
// the log says the same, and the password is printed nowhere.
func TestSecuredKafkaRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *kafkasectest.Secured) string // returns the CA file
		want  string
	}{
		{"wrong password", func(t *testing.T, s *kafkasectest.Secured) string {
			t.Setenv(kafkasectest.PasswordEnv, "wrong-Pa55word")
			return s.PKI.CAFile
		}, "credentials refused"},
		{"untrusted certificate", func(t *testing.T, _ *kafkasectest.Secured) string {
			return kafkasectest.NewPKI(t).CAFile
		}, "broker certificate not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := kafkasectest.Start(t, kafkasec.ScramSHA512, secureIn, secureOut, secureDead)
			ca := tc.setup(t, s)
			app, stop, log := startApp(t, secureConfig(t, s, ca), Options{})
			web := app.OpsAddr()
			var body string
			poll(t, "/readyz not ready", func() error {
				var code int
				var err error
				if code, body, err = readyz(web); err != nil {
					return err
				}
				if code != http.StatusServiceUnavailable {
					return errCount("/readyz status", code, http.StatusServiceUnavailable)
				}
				return nil
			})
			for _, what := range []string{"transcripts", "events", "dead letter"} {
				if err := containsAll(body, "kafka "+what+" topic", s.Broker.Addr(), `SASL SCRAM-SHA-512 user "cmc-test"`, tc.want); err != nil {
					t.Errorf("/readyz: %v", err)
				}
			}
			poll(t, "the source's error in the log", func() error {
				return containsAll(log.String(), "join group", s.Broker.Addr(), "SASL SCRAM-SHA-512", tc.want)
			})
			_ = stop()
			t.Logf("/readyz: %s", body)
			for _, out := range []string{body, log.String()} {
				if strings.Contains(out, "Pa55word") {
					t.Errorf("a password was printed: %s", out)
				}
			}
		})
	}
}

// TestSecureConfigErrors checks the security keys of configs/kafka-secure.yaml.
func TestSecureConfigErrors(t *testing.T) {
	base, err := os.ReadFile("../../configs/kafka-secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkConfigErrors(t, string(base), []configCase{
		{"insecure without confirmation", "ca_file: /etc/cmc-stream/kafka-ca.pem\n      sasl", "insecure_skip_verify: true\n      sasl",
			"sources.transcripts.kafka.tls.insecure_skip_verify: refused"},
		{"unknown mechanism", "mechanism: scram-sha-512", "mechanism: gssapi", `sources.transcripts.kafka.sasl.mechanism: "gssapi"`},
		{"inline password", "password_env: CMC_KAFKA_PASSWORD", "password: hunter2", "field password not found"},
		{"no password source", "password_env: CMC_KAFKA_PASSWORD\n  http", "password_file: \"\"\n  http", "sinks.dead_letter.sasl: exactly one of password_file and password_env"},
		{"certificate without key", "ca_file: /etc/cmc-stream/kafka-ca.pem\n    sasl", "cert_file: client.pem\n    sasl", "sinks.kafka.tls.cert_file and tls.key_file"},
	})
	inline := strings.Replace(string(base), "password_env: CMC_KAFKA_PASSWORD", "password: hunter2", 1)
	if _, err := DecodeConfig([]byte(inline)); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("inline password: %v; want a refusal that does not print it", err)
	}
	confirmed := strings.Replace(string(base), "ca_file: /etc/cmc-stream/kafka-ca.pem\n      sasl", "insecure_skip_verify: true\n        allow_insecure: true\n      sasl", 1)
	if _, err := DecodeConfig([]byte(confirmed)); err != nil {
		t.Errorf("confirmed insecure_skip_verify refused: %v", err)
	}
}
