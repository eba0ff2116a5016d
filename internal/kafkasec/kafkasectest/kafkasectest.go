// Package kafkasectest makes the certificates and brokers of tests of
// secured Kafka connections: a certificate authority and a server
// certificate made with crypto/x509 in the test, and an in-process broker
// that requires TLS and SASL.
package kafkasectest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/broker"
	"github.com/cmc-stream/cmc-stream/internal/kafkasec"
)

// PKI is a certificate authority made for one test and a server
// certificate it signed for 127.0.0.1, ::1 and localhost, written as PEM
// files in the test's temporary folder.
type PKI struct {
	// CAFile is the authority's certificate, for tls.ca_file.
	CAFile string
	// CertFile and KeyFile are the server certificate and its key.
	CertFile, KeyFile string
	// Server is the server side configuration with the certificate.
	Server *tls.Config
}

// NewPKI makes a new authority and server certificate; two calls make
// authorities that do not trust each other's certificates.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cmc-stream test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey := newKey(t)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem")}
	writePEM(t, p.CAFile, "CERTIFICATE", caDER)
	writePEM(t, p.CertFile, "CERTIFICATE", srvDER)
	writePEM(t, p.KeyFile, "EC PRIVATE KEY", keyDER)
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	p.Server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
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
