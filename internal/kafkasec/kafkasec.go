package kafkasec

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Config is the security of the connections to one Kafka cluster. The zero
// value is plaintext without authentication.
type Config struct {
	// TLS, when set, encrypts the connections and checks the brokers'
	// certificates.
	TLS *TLSConfig `yaml:"tls"`
	// SASL, when set, authenticates the client to the brokers.
	SASL *SASLConfig `yaml:"sasl"`
}

// TLSConfig configures TLS to the brokers.
type TLSConfig struct {
	// CAFile is a PEM file of the certificate authorities trusted to sign
	// the brokers' certificates. Default: the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that require mutual TLS. Both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name checked against the brokers' certificates.
	// Default: the host of each broker's address.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate, which lets anyone on the
	// path read and change the traffic. It is refused unless AllowInsecure
	// is also set.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowInsecure confirms InsecureSkipVerify. Default false.
	AllowInsecure bool `yaml:"allow_insecure"`
}

// SASLConfig configures SASL authentication.
type SASLConfig struct {
	// Mechanism is "plain", "scram-sha-256" or "scram-sha-512". PLAIN
	// sends the password itself, so it needs TLS.
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user. Required.
	Username string `yaml:"username"`
	// PasswordFile is a file whose content (without a trailing newline) is
	// the password. Exclusive with PasswordEnv; one is required.
	PasswordFile string `yaml:"password_file"`
	// PasswordEnv is an environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
}

// The SASL mechanisms.
const (
	// Plain is SASL PLAIN (RFC 4616).
	Plain = "plain"
	// ScramSHA256 is SCRAM-SHA-256 (RFC 7677).
	ScramSHA256 = "scram-sha-256"
	// ScramSHA512 is SCRAM-SHA-512.
	ScramSHA512 = "scram-sha-512"
)

// DefaultDialTimeout is the default bound on connecting to a broker, TLS
// handshake and SASL exchange included: kafka-go's.
const DefaultDialTimeout = 10 * time.Second

// Validate checks the configuration without reading any file; errors name
// the field by its YAML key.
func (c Config) Validate() error {
	var errs []error
	if t := c.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, errors.New("tls.cert_file and tls.key_file: both or neither"))
		}
		if t.InsecureSkipVerify && !t.AllowInsecure {
			errs = append(errs, errors.New("tls.insecure_skip_verify: refused: it accepts any certificate; set tls.allow_insecure: true to confirm"))
		}
	}
	if s := c.SASL; s != nil {
		switch s.Mechanism {
		case Plain:
			if c.TLS == nil {
				errs = append(errs, errors.New("sasl.mechanism: plain sends the password in clear: it needs tls"))
			}
		case ScramSHA256, ScramSHA512:
		default:
			errs = append(errs, fmt.Errorf("sasl.mechanism: %q is not a mechanism (want plain, scram-sha-256 or scram-sha-512)", s.Mechanism))
		}
		if s.Username == "" {
			errs = append(errs, errors.New("sasl.username: required"))
		}
		if (s.PasswordFile == "") == (s.PasswordEnv == "") {
			errs = append(errs, errors.New("sasl: exactly one of password_file and password_env is required (passwords are never written in the configuration)"))
		}
	}
	return errors.Join(errs...)
}

// Enabled reports whether c asks for TLS or SASL.
func (c Config) Enabled() bool { return c.TLS != nil || c.SASL != nil }

// String describes the security without secrets, for logs and errors:
// "plaintext", "TLS", "SASL SCRAM-SHA-256 user \"alice\"" or both joined
// with " + ".
func (c Config) String() string {
	var parts []string
	if c.TLS != nil {
		parts = append(parts, "TLS")
	}
	if s := c.SASL; s != nil {
		parts = append(parts, fmt.Sprintf("SASL %s user %q", strings.ToUpper(s.Mechanism), s.Username))
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, " + ")
}

// Dialer returns a kafka-go Dialer with c's TLS and SASL mechanism and the
// given connect timeout (0: DefaultDialTimeout). It reads the
// certificate files and the password now.
func (c Config) Dialer(timeout time.Duration) (*kafkago.Dialer, error) {
	tc, mech, err := c.build()
	if err != nil {
		return nil, err
	}
	d := &kafkago.Dialer{Timeout: cmp.Or(timeout, DefaultDialTimeout), DualStack: true, TLS: tc, SASLMechanism: mech}
	return d, nil
}

// Transport returns a kafka-go Transport, for Writers, with c's TLS and SASL
// mechanism. It reads the certificate files and the password now.
func (c Config) Transport() (*kafkago.Transport, error) {
	tc, mech, err := c.build()
	if err != nil {
		return nil, err
	}
	return &kafkago.Transport{TLS: tc, SASL: mech}, nil
}

// Parts returns the TLS configuration (nil for plaintext) and the SASL
// mechanism (nil for none) of c, for clients other than kafka-go's Dialer
// and Transport. It reads the certificate files and the password now.
func (c Config) Parts() (*tls.Config, sasl.Mechanism, error) { return c.build() }

// build makes the TLS configuration and the SASL mechanism of c.
func (c Config) build() (*tls.Config, sasl.Mechanism, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, fmt.Errorf("kafkasec: %w", err)
	}
	var tc *tls.Config
	if t := c.TLS; t != nil {
		var err error
		if tc, err = t.config(); err != nil {
			return nil, nil, err
		}
	}
	var mech sasl.Mechanism
	if s := c.SASL; s != nil {
		var err error
		if mech, err = s.mechanism(); err != nil {
			return nil, nil, err
		}
	}
	return tc, mech, nil
}

// config reads the files of t into a tls.Config.
func (t *TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify && t.AllowInsecure}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafkasec: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafkasec: tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafkasec: tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// mechanism reads the password and returns kafka-go's mechanism.
func (s *SASLConfig) mechanism() (sasl.Mechanism, error) {
	pass, err := s.password()
	if err != nil {
		return nil, err
	}
	switch s.Mechanism {
	case Plain:
		return plain.Mechanism{Username: s.Username, Password: pass}, nil
	case ScramSHA256, ScramSHA512:
		algo := scram.SHA256
		if s.Mechanism == ScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, pass)
		if err != nil {
			// The error names the user or password as not valid
			// SASLprep; it does not echo the password.
			return nil, fmt.Errorf("kafkasec: sasl: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("kafkasec: sasl.mechanism: %q is not a mechanism", s.Mechanism)
}

// maxPasswordBytes bounds a password file: a password is short, and a path
// to a large file by mistake should not be read whole.
const maxPasswordBytes = 4096

// password reads the password from the file or the environment variable.
func (s *SASLConfig) password() (string, error) {
	if s.PasswordEnv != "" {
		p, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || p == "" {
			return "", fmt.Errorf("kafkasec: sasl.password_env: environment variable %s is not set", s.PasswordEnv)
		}
		return p, nil
	}
	f, err := os.Open(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("kafkasec: sasl.password_file: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxPasswordBytes+1))
	if err != nil {
		return "", fmt.Errorf("kafkasec: sasl.password_file %s: %w", s.PasswordFile, err)
	}
	if len(buf) > maxPasswordBytes {
		return "", fmt.Errorf("kafkasec: sasl.password_file %s: longer than %d bytes", s.PasswordFile, maxPasswordBytes)
	}
	p := strings.TrimRight(string(buf), "\r\n")
	if p == "" {
		return "", fmt.Errorf("kafkasec: sasl.password_file %s: empty", s.PasswordFile)
	}
	return p, nil
}

// Explain wraps err, an error of connecting to brokers, with the brokers
// and the security used, and says in words what the usual failures mean:
// credentials the brokers refused, a certificate not trusted, a broker that
// does not speak TLS. Other errors are wrapped as they are; nil stays nil.
func (c Config) Explain(brokers []string, err error) error {
	if err == nil {
		return nil
	}
	hint := ""
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordHeader tls.RecordHeaderError
	switch {
	case errors.Is(err, kafkago.SASLAuthenticationFailed) || errors.Is(err, kafkago.IllegalSASLState):
		hint = "credentials refused (check the user, the password and the mechanism): "
	case errors.Is(err, kafkago.UnsupportedSASLMechanism):
		hint = "the broker does not offer this SASL mechanism: "
	case errors.As(err, &unknownCA):
		hint = "broker certificate not trusted (check tls.ca_file): "
	case errors.As(err, &hostname):
		hint = "broker certificate is for another name (check tls.server_name): "
	case errors.As(err, &invalid):
		hint = "broker certificate invalid: "
	case errors.As(err, &recordHeader):
		hint = "the broker does not speak TLS: "
	case c.TLS == nil && errors.Is(err, io.EOF):
		hint = "the broker closed the connection (does it require tls?): "
	}
	return fmt.Errorf("kafka brokers %s (%s): %s%w", strings.Join(brokers, ","), c, hint, err)
}
