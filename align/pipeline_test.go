package align_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// liveFeed replays inputs, then blocks like a live feed; it records the
// order in which windows are written and inputs acknowledged.
type liveFeed struct {
	list []align.Input
	log  *events
}

type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.list = append(e.list, s)
	e.mu.Unlock()
}

func (f *liveFeed) Connect(context.Context) error { return nil }

func (f *liveFeed) Read(ctx context.Context) (align.Input, pipeline.AckFunc, error) {
	if len(f.list) == 0 {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	in := f.list[0]
	f.list = f.list[1:]
	name := "audio"
	if _, ok := in.(align.Segment); ok {
		name = "segment"
	}
	return in, func(context.Context, error) error {
		f.log.add("ack " + name)
		return nil
	}, nil
}

func (f *liveFeed) Close(context.Context) error { return nil }

type logSink struct{ log *events }

func (s logSink) Write(_ context.Context, ws []align.Window) error {
	for _, w := range ws {
		s.log.add("window " + w.Present.String())
	}
	return nil
}

func (logSink) Close(context.Context) error { return nil }

// TestPipelineMaxWait runs the aligner in a pipeline, on synctest's fake
// clock: with video expected but never sent, the runner's ticks emit the
// window after MaxWait, and the transcript segment and the audio are
// acknowledged only after the window was written.
func TestPipelineMaxWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, err := align.New(align.Config{Expect: align.Of(align.Vision), MaxWait: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		log := &events{}
		feed := &liveFeed{log: log, list: []align.Input{
			audio("s", 0, 500),
			seg("s", 0, 500, "hello", "x", true),
		}}
		r, err := pipeline.New(pipeline.Config{})
		if err != nil {
			t.Fatal(err)
		}
		src := pipeline.From(r, "feed", pipeline.SourceConfig{}, pipeline.Source[align.Input](feed))
		ws := pipeline.ViaRetainer(src, "align", pipeline.StageConfig{TickInterval: 100 * time.Millisecond}, align.NewStage(a))
		pipeline.To(ws, "log", pipeline.SinkConfig{}, pipeline.Sink[align.Window](logSink{log}))
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- r.Run(ctx) }()

		time.Sleep(2*time.Second - time.Millisecond)
		synctest.Wait()
		log.mu.Lock()
		early := slices.Clone(log.list)
		log.mu.Unlock()
		if len(early) != 0 {
			t.Errorf("before MaxWait: %v, want nothing", early)
		}
		// The first tick at or after 2 s emits the window.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Run: %v", err)
		}
		// The window names the segment, then the audio; the runner
		// acknowledges them in that order once the sink accepted it.
		want := []string{"window text+audio", "ack segment", "ack audio"}
		if !slices.Equal(log.list, want) {
			t.Errorf("events %v, want %v", log.list, want)
		}
	})
}
