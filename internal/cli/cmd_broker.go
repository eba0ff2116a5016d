package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

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
	dataDir := fs.String("data", "", "`directory` to persist topics in (default: memory only)")
	topics := fs.String("topics", "", "comma-separated topics to create up front (others are created on first use)")
	partitions := fs.Int("partitions", 6, "partitions of each topic created up front")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := broker.Config{Addr: *addr, DataDir: *dataDir, Partitions: *partitions, AutoCreateTopics: true}
	if *topics != "" {
		cfg.Topics = strings.Split(*topics, ",")
	}
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "broker listening on %s (Ctrl-C stops it)\n", b.Addr())
	<-ctx.Done()
	return b.Close()
}
