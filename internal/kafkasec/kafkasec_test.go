package kafkasec_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec/kafkasectest"
)

// roundTrip writes a message with a Writer on c.Transport and reads it back
// with a Reader on c.Dialer.
func roundTrip(t *testing.T, addr string, c kafkasec.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := c.Transport()
	if err != nil {
		return err
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: "t", Transport: tr, AllowAutoTopicCreation: true}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("k"), Value: []byte("hello")}); err != nil {
		return c.Explain([]string{addr}, err)
	}
	d, err := c.Dialer(5 * time.Second)
	if err != nil {
		return err
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: "t", Partition: 0, Dialer: d, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		return c.Explain([]string{addr}, err)
	}
	if string(m.Value) != "hello" {
		t.Fatalf("read %q, want hello", m.Value)
	}
	return nil
}

func TestMechanismsEndToEnd(t *testing.T) {
	for _, mech := range []string{kafkasec.Plain, kafkasec.ScramSHA256, kafkasec.ScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			s := kafkasectest.Start(t, mech, "t")
			if err := roundTrip(t, s.Broker.Addr(), s.Security); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPasswordFile(t *testing.T) {
	s := kafkasectest.Start(t, kafkasec.ScramSHA512, "t")
	f := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(f, []byte(kafkasectest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := s.Security
	c.SASL = &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA512, Username: kafkasectest.User, PasswordFile: f}
	if err := roundTrip(t, s.Broker.Addr(), c); err != nil {
		t.Fatal(err)
	}
}

// dialErr connects once with c's Dialer and returns the explained error.
func dialErr(t *testing.T, addr string, c kafkasec.Config) error {
	t.Helper()
	d, err := c.Dialer(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err == nil {
		_, err = conn.ReadPartitions("t")
		conn.Close()
	}
	return c.Explain([]string{addr}, err)
}

func TestWrongPassword(t *testing.T) {
	s := kafkasectest.Start(t, kafkasec.ScramSHA256, "t")
	t.Setenv("WRONG_PASSWORD", "not-the-password")
	c := s.Security
	c.SASL = &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, Username: kafkasectest.User, PasswordEnv: "WRONG_PASSWORD"}
	err := dialErr(t, s.Broker.Addr(), c)
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	t.Log(err)
	msg := err.Error()
	for _, want := range []string{s.Broker.Addr(), "SASL SCRAM-SHA-256", "credentials refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "not-the-password") {
		t.Errorf("error %q shows the password", msg)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	s := kafkasectest.Start(t, kafkasec.ScramSHA256, "t")
	other := kafkasectest.NewPKI(t)
	c := s.Security
	c.TLS = &kafkasec.TLSConfig{CAFile: other.CAFile}
	err := dialErr(t, s.Broker.Addr(), c)
	if err == nil {
		t.Fatal("connected to a broker whose certificate no trusted authority signed")
	}
	t.Log(err)
	for _, want := range []string{s.Broker.Addr(), "TLS + SASL SCRAM-SHA-256", "not trusted", "tls.ca_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestPlaintextToTLSBroker(t *testing.T) {
	s := kafkasectest.Start(t, kafkasec.ScramSHA256, "t")
	err := dialErr(t, s.Broker.Addr(), kafkasec.Config{})
	if err == nil {
		t.Fatal("a plaintext client got through to a TLS broker")
	}
	t.Log(err)
}

func TestInsecureSkipVerifyNeedsConfirmation(t *testing.T) {
	c := kafkasec.Config{TLS: &kafkasec.TLSConfig{InsecureSkipVerify: true}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "allow_insecure") {
		t.Fatalf("Validate = %v, want a refusal naming allow_insecure", err)
	}
	if _, err := c.Dialer(0); err == nil {
		t.Fatal("Dialer built an unconfirmed insecure configuration")
	}
	// Confirmed, it connects to a broker whose authority it does not know.
	s := kafkasectest.Start(t, kafkasec.ScramSHA256, "t")
	c = s.Security
	c.TLS = &kafkasec.TLSConfig{InsecureSkipVerify: true, AllowInsecure: true}
	if err := dialErr(t, s.Broker.Addr(), c); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c    kafkasec.Config
		want string
	}{
		{kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: "gssapi", Username: "u", PasswordEnv: "P"}}, "sasl.mechanism"},
		{kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.Plain, Username: "u", PasswordEnv: "P"}}, "needs tls"},
		{kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, PasswordEnv: "P"}}, "sasl.username"},
		{kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, Username: "u"}}, "password_file"},
		{kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, Username: "u", PasswordEnv: "P", PasswordFile: "f"}}, "password_file"},
		{kafkasec.Config{TLS: &kafkasec.TLSConfig{CertFile: "c"}}, "key_file"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want an error naming %q", tc.c, err, tc.want)
		}
	}
}

func TestMissingSecrets(t *testing.T) {
	c := kafkasec.Config{SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA256, Username: "u", PasswordEnv: "CMC_TEST_UNSET_VARIABLE"}}
	if _, err := c.Dialer(0); err == nil || !strings.Contains(err.Error(), "CMC_TEST_UNSET_VARIABLE") {
		t.Errorf("Dialer = %v, want an error naming the unset variable", err)
	}
	c.SASL.PasswordEnv, c.SASL.PasswordFile = "", filepath.Join(t.TempDir(), "missing")
	if _, err := c.Transport(); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("Transport = %v, want an error naming password_file", err)
	}
	c = kafkasec.Config{TLS: &kafkasec.TLSConfig{CAFile: c.SASL.PasswordFile}}
	if _, err := c.Dialer(0); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Errorf("Dialer = %v, want an error naming tls.ca_file", err)
	}
}

func TestStringHasNoSecret(t *testing.T) {
	t.Setenv("PW", "hunter2")
	c := kafkasec.Config{TLS: &kafkasec.TLSConfig{}, SASL: &kafkasec.SASLConfig{Mechanism: kafkasec.ScramSHA512, Username: "alice", PasswordEnv: "PW"}}
	if got, want := c.String(), `TLS + SASL SCRAM-SHA-512 user "alice"`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := (kafkasec.Config{}).String(); got != "plaintext" {
		t.Errorf("String of the zero Config = %q, want plaintext", got)
	}
}
