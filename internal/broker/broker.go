package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultAddr is the address the broker listens on when Config.Addr is
// empty: the Kafka port on the IPv4 loopback interface.
const DefaultAddr = "127.0.0.1:9092"

// Config configures a broker. The zero value is a broker on DefaultAddr,
// in memory, with no topics.
type Config struct {
	// Addr is the host:port to listen on. The host must be a loopback IP
	// address or "localhost"; port 0 picks a free port. Default
	// DefaultAddr.
	Addr string
	// DataDir, if set, is a directory the broker persists its state to
	// (created if needed) and reloads it from on Start, so topics, records
	// and committed offsets survive a restart. Start makes it mode 0700,
	// so only its owner reaches the records in it (the files themselves
	// follow the process umask; the broker command sets 077, for 0600).
	// Default "": in memory only.
	DataDir string
	// Topics are created on Start unless they already exist (as they do
	// after a restart with the same DataDir, keeping their partition
	// count).
	Topics []string
	// Partitions is the number of partitions of each topic created from
	// Topics or by auto-creation. Default 1.
	Partitions int
	// AutoCreateTopics lets producers and consumers create topics by
	// naming them, as Kafka's auto.create.topics.enable does. Default
	// false.
	AutoCreateTopics bool
	// TLS, when set, makes the broker accept TLS connections only, with
	// this server configuration (its certificate and, for mutual TLS, its
	// ClientAuth and ClientCAs). Default nil: plaintext.
	TLS *tls.Config
	// Users, when set, enables SASL: every client must authenticate as one
	// of them, with its mechanism, before any other request. Default none:
	// no authentication.
	Users []User
}

// User is a SASL user of the broker; every user may do everything.
type User struct {
	// Mechanism is "plain", "scram-sha-256" or "scram-sha-512".
	Mechanism string
	// Name and Password are the credentials.
	Name, Password string
}

// maxPartitions bounds Config.Partitions; it is far above what one
// in-process broker serves usefully.
const maxPartitions = 1024

// Validate checks the configuration: a host:port address with a loopback
// host, and a partition count in [0, 1024].
func (c Config) Validate() error {
	if _, _, err := listenAddr(c.Addr); err != nil {
		return err
	}
	if c.Partitions < 0 || c.Partitions > maxPartitions {
		return fmt.Errorf("broker: partitions %d outside [0, %d]", c.Partitions, maxPartitions)
	}
	for _, t := range c.Topics {
		if t == "" {
			return errors.New("broker: empty topic name")
		}
	}
	for _, u := range c.Users {
		switch u.Mechanism {
		case "plain", "scram-sha-256", "scram-sha-512":
		default:
			return fmt.Errorf("broker: user %q: mechanism %q is not plain, scram-sha-256 or scram-sha-512", u.Name, u.Mechanism)
		}
		if u.Name == "" || u.Password == "" {
			return errors.New("broker: a SASL user needs a name and a password")
		}
	}
	return nil
}

// listenAddr resolves the address to listen on and checks that it is on a
// loopback interface.
func listenAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("broker: address %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("broker: address %q: invalid port", addr)
	}
	if host == "localhost" {
		return "127.0.0.1", port, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", 0, fmt.Errorf("broker: address %q is not a loopback address: the embedded broker has no authentication and listens on 127.0.0.1, ::1 or localhost only", addr)
	}
	return host, port, nil
}

// Broker is a running in-process broker. Its methods are safe for
// concurrent use.
type Broker struct {
	cluster  *kfake.Cluster
	addr     string
	stop     func() bool
	closeOne sync.Once
}

// Start starts a broker and returns once it accepts connections. The broker
// runs until Close is called or ctx is done, whichever comes first; either
// way it persists its state to Config.DataDir, if set, before it stops.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	host, port, err := listenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	partitions := cfg.Partitions
	if partitions == 0 {
		partitions = 1
	}
	listen := func(network, _ string) (net.Listener, error) {
		return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ListenFn(listen),
		kfake.DefaultNumPartitions(partitions),
	}
	if cfg.AutoCreateTopics {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if cfg.DataDir != "" {
		if err := privateDir(cfg.DataDir); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	if len(cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			opts = append(opts, kfake.Superuser(strings.ToUpper(u.Mechanism), u.Name, u.Password))
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start: %w", err)
	}
	for _, t := range cfg.Topics {
		if c.TopicInfo(t) != nil {
			continue
		}
		if err := c.CreateTopic(t, int32(partitions), nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("broker: create topic %q: %w", t, err)
		}
	}
	b := &Broker{cluster: c, addr: c.ListenAddrs()[0]}
	b.stop = context.AfterFunc(ctx, b.shutdown)
	return b, nil
}

// Addr returns the host:port the broker listens on, to use as the bootstrap
// address of Kafka clients.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, closing its connections and persisting its state
// to Config.DataDir, if set. Further calls do nothing. It always returns
// nil; the error is there for io.Closer.
func (b *Broker) Close() error {
	b.stop()
	b.shutdown()
	return nil
}

func (b *Broker) shutdown() {
	b.closeOne.Do(b.cluster.Close)
}

// privateDir creates dir, or restricts an existing one, to mode 0700.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	return nil
}
