package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/cmc-stream/cmc-stream/internal/broker"
)

func init() {
	commands["broker"] = command{
		summary: "run a local Kafka-protocol broker on loopback (for trying the Kafka paths)",
		run:     runBroker,
	}
}

func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("broker", stderr)
	addr := fs.String("addr", "127.0.0.1:9092", "loopback `address` to listen on")
	dataDir := fs.String("data", "", "`directory` to persist topics in, made 0700 with files 0600 (default: memory only)")
	topics := fs.String("topics", "", "comma-separated topics to create up front (others are created on first use)")
	partitions := fs.Int("partitions", 6, "partitions of each topic created up front")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `file`: accept TLS connections only (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM private key `file` of --tls-cert")
	mech := fs.String("sasl-mechanism", "", "require SASL authentication with this `mechanism`: plain, scram-sha-256 or scram-sha-512 (with --sasl-user and --sasl-password-env)")
	user := fs.String("sasl-user", "", "the SASL `user`")
	passEnv := fs.String("sasl-password-env", "", "environment `variable` holding the SASL user's password")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := broker.Config{Addr: *addr, DataDir: *dataDir, Partitions: *partitions, AutoCreateTopics: true}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("broker: --tls-cert/--tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if *mech != "" || *user != "" || *passEnv != "" {
		pass := os.Getenv(*passEnv)
		if *mech == "" || *user == "" || *passEnv == "" || pass == "" {
			return fmt.Errorf("%w: SASL needs --sasl-mechanism, --sasl-user and --sasl-password-env naming a set variable", errUsage)
		}
		cfg.Users = []broker.User{{Mechanism: *mech, Name: *user, Password: pass}}
	}
	if *topics != "" {
		cfg.Topics = strings.Split(*topics, ",")
	}
	if cfg.DataDir != "" {
		// The records are the product's input (transcripts, audio): the
		// files the broker writes are its owner's only (0600, in a 0700
		// directory).
		defer syscall.Umask(syscall.Umask(0o077))
	}
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		return err
	}
	security := "plaintext"
	switch {
	case cfg.TLS != nil && cfg.Users != nil:
		security = "TLS + SASL " + strings.ToUpper(*mech)
	case cfg.TLS != nil:
		security = "TLS"
	case cfg.Users != nil:
		security = "SASL " + strings.ToUpper(*mech)
	}
	fmt.Fprintf(stdout, "broker listening on %s (%s; Ctrl-C stops it)\n", b.Addr(), security)
	<-ctx.Done()
	return b.Close()
}
