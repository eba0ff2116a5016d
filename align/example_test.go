package align_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

func Example() {
	a, err := align.New(align.Config{Policy: align.Utterance})
	if err != nil {
		panic(err)
	}
	// One second of 16 kHz audio in 100 ms chunks, then the final
	// transcript of the words said from 0.2 s to 0.8 s.
	for t := time.Duration(0); t < time.Second; t += 100 * time.Millisecond {
		if _, err := a.Add(align.Media{StreamID: "call-42", Modality: align.Audio, Time: t, Samples: make([]float32, 1600), SampleRate: 16000}); err != nil {
			panic(err)
		}
	}
	ws, err := a.Add(align.Segment{StreamID: "call-42", Speaker: "customer", Start: 200 * time.Millisecond, End: 800 * time.Millisecond, Text: "sure, that's just great", Final: true})
	if err != nil {
		panic(err)
	}
	for _, w := range ws {
		n := 0
		for _, c := range w.Audio {
			n += len(c.Samples)
		}
		fmt.Printf("%s/%s/%d [%v, %v) %q present=%v samples=%d\n", w.StreamID, w.Kind, w.Seq, w.Start, w.End, w.Text, w.Present, n)
	}
	// Output:
	// call-42/utterance/0 [200ms, 800ms) "sure, that's just great" present=text+audio samples=9600
}

// inputs is a pipeline source replaying fixed inputs, printing each ack.
type inputs struct{ list []align.Media }

func (s *inputs) Connect(context.Context) error { return nil }
func (s *inputs) Read(context.Context) (align.Input, pipeline.AckFunc, error) {
	if len(s.list) == 0 {
		return nil, nil, pipeline.ErrEndOfInput
	}
	in := s.list[0]
	s.list = s.list[1:]
	return in, func(_ context.Context, err error) error {
		fmt.Printf("  ack frame at %v (err=%v)\n", in.Time, err)
		return nil
	}, nil
}
func (s *inputs) Close(context.Context) error { return nil }

// printer is a pipeline sink printing windows.
type printer struct{}

func (printer) Write(_ context.Context, ws []align.Window) error {
	for _, w := range ws {
		fmt.Printf("%s/%d [%v, %v) present=%v frames=%d forced=%v\n", w.StreamID, w.Seq, w.Start, w.End, w.Present, len(w.Vision), w.Forced)
	}
	return nil
}
func (printer) Close(context.Context) error { return nil }

// Example_pipeline runs the aligner as a pipeline stage: each frame is
// acknowledged only after the window holding it was written. The last
// window comes out of Drain at the end of input, marked forced.
func Example_pipeline() {
	a, err := align.New(align.Config{Policy: align.Sliding, Size: time.Second, Hop: time.Second})
	if err != nil {
		panic(err)
	}
	var list []align.Media
	for t := time.Duration(0); t < 1500*time.Millisecond; t += 250 * time.Millisecond {
		list = append(list, align.Media{StreamID: "cam", Modality: align.Vision, Time: t})
	}
	r, err := pipeline.New(pipeline.Config{})
	if err != nil {
		panic(err)
	}
	src := pipeline.From(r, "replay", pipeline.SourceConfig{}, pipeline.Source[align.Input](&inputs{list: list}))
	windows := pipeline.ViaRetainer(src, "align", pipeline.StageConfig{}, align.NewStage(a))
	pipeline.To(windows, "print", pipeline.SinkConfig{}, pipeline.Sink[align.Window](printer{}))
	if err := r.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// cam/0 [0s, 1s) present=vision frames=4 forced=false
	//   ack frame at 0s (err=<nil>)
	//   ack frame at 250ms (err=<nil>)
	//   ack frame at 500ms (err=<nil>)
	//   ack frame at 750ms (err=<nil>)
	// cam/1 [1s, 2s) present=vision frames=2 forced=true
	//   ack frame at 1s (err=<nil>)
	//   ack frame at 1.25s (err=<nil>)
}
