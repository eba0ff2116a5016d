package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// lineWriter hands each written chunk to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

// TestBrokerCommand starts the broker command and round-trips a message
// through it with kafka-go.
func TestBrokerCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lineWriter, 4)
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"broker", "--addr", "127.0.0.1:0", "--topics", "t", "--partitions", "1"}, out, io.Discard)
	}()
	var line string
	select {
	case line = <-out:
	case code := <-done:
		t.Fatalf("broker exited with %d", code)
	case <-time.After(20 * time.Second):
		t.Fatal("broker did not start")
	}
	fields := strings.Fields(line)
	addr := fields[3]
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "t", BatchTimeout: 10 * time.Millisecond}
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: "t", Partition: 0, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	m, err := r.ReadMessage(rctx)
	if err != nil || string(m.Value) != "hello" {
		t.Fatalf("read %q, %v", m.Value, err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after cancel", code)
	}
}
