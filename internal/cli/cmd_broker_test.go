package cli

import (
	"context"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec/kafkasectest"
)

// lineWriter hands each written chunk to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

// TestBrokerCommand starts the broker command and round-trips a message
// through it with kafka-go.
func TestBrokerCommand(t *testing.T) {
	if line := brokerRoundTrip(t, nil, kafkasec.Config{}); !strings.Contains(line, "plaintext") {
		t.Errorf("start line %q does not say plaintext", line)
	}
}

// TestBrokerCommandDataPrivate runs the broker command with --data on a
// directory made 0755 beforehand, round-trips a message, and checks that
// the directory is now 0700 and that every file and directory the broker
// wrote in it is its owner's only (files 0600, directories 0700).
func TestBrokerCommandDataPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	brokerRoundTrip(t, []string{"--data", dir}, kafkasec.Config{})
	files := 0
	err := filepath.WalkDir(dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := iofs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("the broker wrote no file in --data")
	}
}

// TestBrokerCommandSecured starts the broker command with TLS (a
// certificate made in the test) and a SCRAM-SHA-256 user, and round-trips a
// message with a client that trusts the test authority and logs in.
func TestBrokerCommandSecured(t *testing.T) {
	pki := kafkasectest.NewPKI(t)
	t.Setenv("CMC_TEST_BROKER_PASSWORD", "broker-Pa55word")
	line := brokerRoundTrip(t, []string{"--tls-cert", pki.CertFile, "--tls-key", pki.KeyFile,
		"--sasl-mechanism", "scram-sha-256", "--sasl-user", "alice", "--sasl-password-env", "CMC_TEST_BROKER_PASSWORD"},
		kafkasec.Config{TLS: &kafkasec.TLSConfig{CAFile: pki.CAFile},
			SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, Username: "alice", PasswordEnv: "CMC_TEST_BROKER_PASSWORD"}})
	if !strings.Contains(line, "TLS + SASL SCRAM-SHA-256") {
		t.Errorf("start line %q does not say TLS + SASL SCRAM-SHA-256", line)
	}
}

// brokerRoundTrip runs the broker command with a topic "t" and the extra
// flags, writes a message and reads it back with a client of security sec,
// stops the command and returns the line it started with.
func brokerRoundTrip(t *testing.T, flags []string, sec kafkasec.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(lineWriter, 4)
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"broker", "--addr", "127.0.0.1:0", "--topics", "t", "--partitions", "1"}, flags...), out, io.Discard)
	}()
	var line string
	select {
	case line = <-out:
	case code := <-done:
		t.Fatalf("broker exited with %d", code)
	case <-time.After(20 * time.Second):
		t.Fatal("broker did not start")
	}
	addr := strings.Fields(line)[3]
	tr, err := sec.Transport()
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "t", BatchTimeout: 10 * time.Millisecond, Transport: tr}
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	d, err := sec.Dialer(0)
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: "t", Partition: 0, MaxWait: 50 * time.Millisecond, Dialer: d})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if m, err := r.ReadMessage(rctx); err != nil || string(m.Value) != "hello" {
		t.Fatalf("read %q, %v", m.Value, err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after cancel", code)
	}
	return line
}
