package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// stalledSink accepts nothing: Write blocks until the runner's hard stop
// and Close fails with its context's error, as a sink stuck on a stalled
// client does.
type stalledSink struct{ entered chan struct{} }

func (s *stalledSink) Write(ctx context.Context, _ []event.Event) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *stalledSink) Close(ctx context.Context) error { return ctx.Err() }

// TestShutdownDeadlineIsAnError stops a run whose sink is stalled: the soft
// shutdown cannot drain, the hard stop abandons the event, and Run returns
// an error wrapping pipeline.ErrShutdownTimeout instead of success. The
// operations port's /readyz answers 503 naming the pipeline's state, as
// the README's Operations section says: "not started" before Run,
// "shutting down" once the stop began.
func TestShutdownDeadlineIsAnError(t *testing.T) {
	dir := t.TempDir()
	transcript := filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(transcript, []byte(`{"stream_id":"a","start":0,"end":1,"text":"hello","final":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig([]byte("model: {bundle: " + textBundle(t) + "}\ntext: {max_len: 24}\nsources:\n  transcripts: {file: " + transcript +
		"}\nsinks:\n  stdout: {format: jsonl}\npipeline: {shutdown_timeout: 3s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Assets.Dir = testNative.AssetsDir // as the command resolves it
	cfg.Observability.Listen = "127.0.0.1:0"
	stalled := &stalledSink{entered: make(chan struct{}, 1)}
	app, err := Build(cfg, Options{Extra: []pipeline.Sink[event.Event]{stalled}})
	if err != nil {
		t.Fatal(err)
	}
	// The shutdown lasts 3 s, longer than /readyz reuses a round of checks
	// (1 s), so that the poll below sees the state change.
	ready := func(want string) func() error {
		return func() error {
			code, body, err := readyz(app.OpsAddr())
			if err != nil {
				return err
			}
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "pipeline: "+want) {
				return fmt.Errorf("/readyz %d %q, want 503 naming pipeline: %s", code, body, want)
			}
			return nil
		}
	}
	poll(t, "/readyz before Run", ready("not started"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-stalled.entered:
	case <-time.After(kafkaWait):
		t.Fatal("the event never reached the sink")
	}
	cancel()
	poll(t, "/readyz during the shutdown", ready("shutting down"))
	if err := <-done; !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want an error wrapping ErrShutdownTimeout", err)
	}
}
