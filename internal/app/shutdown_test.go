package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
// an error wrapping pipeline.ErrShutdownTimeout instead of success.
func TestShutdownDeadlineIsAnError(t *testing.T) {
	dir := t.TempDir()
	transcript := filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(transcript, []byte(`{"stream_id":"a","start":0,"end":1,"text":"hello","final":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig([]byte("model: {bundle: " + textBundle(t) + "}\ntext: {max_len: 24}\nsources:\n  transcripts: {file: " + transcript +
		"}\nsinks:\n  stdout: {format: jsonl}\npipeline: {shutdown_timeout: 400ms}\n"))
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
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-stalled.entered:
	case <-time.After(kafkaWait):
		t.Fatal("the event never reached the sink")
	}
	cancel()
	if err := <-done; !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want an error wrapping ErrShutdownTimeout", err)
	}
}
