// Package kafkasectest makes the certificates and brokers of tests of
// secured Kafka connections: a certificate authority and a server
// certificate made with crypto/x509 for the test, and an in-process broker
// that requires TLS and SASL.
package kafkasectest

import (
	"context"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/broker"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
)

// PKI is a certificate authority made for one test and a server
// certificate it signed for 127.0.0.1, ::1 and localhost (see
// broker.SelfSigned), written in the test's temporary folder.
type PKI = broker.SelfSigned

// NewPKI makes a new authority and server certificate; two calls make
// authorities that do not trust each other's certificates.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p, err := broker.NewSelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The credentials of the broker of Start.
const (
	// User is the SASL user.
	User = "cmc-test"
	// Password is its password.
	Password = "s3cret-Pa55word"
	// PasswordEnv is the environment variable Start sets to Password.
	PasswordEnv = "CMC_TEST_KAFKA_PASSWORD"
)

// Secured is a broker that requires TLS and SASL, and the client security
// that connects to it.
type Secured struct {
	// Broker is the running broker, closed when the test ends.
	Broker *broker.Broker
	// PKI holds the certificates; the broker serves PKI.Server.
	PKI *PKI
	// Security is the client side: TLS trusting PKI.CAFile and SASL with
	// User and the password from PasswordEnv.
	Security kafkasec.Config
}

// Start starts a broker on a loopback port that requires TLS with a new
// PKI and SASL with mechanism (plain, scram-sha-256 or scram-sha-512) as
// User, with topics of one partition each (others are created on first
// use). It sets PasswordEnv for the test.
func Start(t testing.TB, mechanism string, topics ...string) *Secured {
	t.Helper()
	pki := NewPKI(t)
	b, err := broker.Start(context.Background(), broker.Config{Addr: "127.0.0.1:0", Topics: topics, AutoCreateTopics: true,
		TLS: pki.Server, Users: []broker.User{{Mechanism: mechanism, Name: User, Password: Password}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	t.Setenv(PasswordEnv, Password)
	return &Secured{Broker: b, PKI: pki, Security: kafkasec.Config{
		TLS:  &kafkasec.TLSConfig{CAFile: pki.CAFile},
		SASL: &kafkasec.SASLConfig{Mechanism: mechanism, Username: User, PasswordEnv: PasswordEnv},
	}}
}
