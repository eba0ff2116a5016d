package align_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
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

// journal records, from the pipeline's goroutines, the windows written and,
// for each acknowledged frame, whether the window holding it had been
// written before the ack.
type journal struct {
	mu      sync.Mutex
	windows []string
	written map[uint64]bool        // window seq -> written
	acks    map[time.Duration]bool // frame time -> its window was written first
}

// inputs is a pipeline source replaying fixed frames into 1 s windows,
// recording each ack in the journal.
type inputs struct {
	list []align.Media
	j    *journal
}

func (s *inputs) Connect(context.Context) error { return nil }
func (s *inputs) Read(context.Context) (align.Input, pipeline.AckFunc, error) {
	if len(s.list) == 0 {
		return nil, nil, pipeline.ErrEndOfInput
	}
	in := s.list[0]
	s.list = s.list[1:]
	return in, func(_ context.Context, err error) error {
		s.j.mu.Lock()
		defer s.j.mu.Unlock()
		s.j.acks[in.Time] = err == nil && s.j.written[uint64(in.Time/time.Second)]
		return nil
	}, nil
}
func (s *inputs) Close(context.Context) error { return nil }

// printer is a pipeline sink recording windows in the journal.
type printer struct{ j *journal }

func (p printer) Write(_ context.Context, ws []align.Window) error {
	p.j.mu.Lock()
	defer p.j.mu.Unlock()
	for _, w := range ws {
		p.j.windows = append(p.j.windows, fmt.Sprintf("%s/%d [%v, %v) present=%v frames=%d forced=%v", w.StreamID, w.Seq, w.Start, w.End, w.Present, len(w.Vision), w.Forced))
		p.j.written[w.Seq] = true
	}
	return nil
}
func (printer) Close(context.Context) error { return nil }

// Example_pipeline runs the aligner as a pipeline stage: each frame is
// acknowledged only after the window holding it was written. The last
// window comes out of Drain at the end of input, marked forced. (Acks run
// on the runner's goroutines, so the journal is printed after the run.)
func Example_pipeline() {
	a, err := align.New(align.Config{Policy: align.Sliding, Size: time.Second, Hop: time.Second})
	if err != nil {
		panic(err)
	}
	var list []align.Media
	for t := time.Duration(0); t < 1500*time.Millisecond; t += 250 * time.Millisecond {
		list = append(list, align.Media{StreamID: "cam", Modality: align.Vision, Time: t})
	}
	j := &journal{written: map[uint64]bool{}, acks: map[time.Duration]bool{}}
	r, err := pipeline.New(pipeline.Config{})
	if err != nil {
		panic(err)
	}
	src := pipeline.From(r, "replay", pipeline.SourceConfig{}, pipeline.Source[align.Input](&inputs{list: list, j: j}))
	windows := pipeline.ViaRetainer(src, "align", pipeline.StageConfig{}, align.NewStage(a))
	pipeline.To(windows, "print", pipeline.SinkConfig{}, pipeline.Sink[align.Window](printer{j: j}))
	if err := r.Run(context.Background()); err != nil {
		panic(err)
	}
	for _, w := range j.windows {
		fmt.Println(w)
	}
	for _, t := range slices.Sorted(maps.Keys(j.acks)) {
		fmt.Printf("ack frame at %v after its window was written: %v\n", t, j.acks[t])
	}
	// Output:
	// cam/0 [0s, 1s) present=vision frames=4 forced=false
	// cam/1 [1s, 2s) present=vision frames=2 forced=true
	// ack frame at 0s after its window was written: true
	// ack frame at 250ms after its window was written: true
	// ack frame at 500ms after its window was written: true
	// ack frame at 750ms after its window was written: true
	// ack frame at 1s after its window was written: true
	// ack frame at 1.25s after its window was written: true
}
