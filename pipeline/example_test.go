package pipeline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// words is a Source over a fixed list of words.
type words struct{ list []string }

func (w *words) Connect(context.Context) error { return nil }

func (w *words) Read(context.Context) (string, pipeline.AckFunc, error) {
	if len(w.list) == 0 {
		return "", nil, pipeline.ErrEndOfInput
	}
	word := w.list[0]
	w.list = w.list[1:]
	ack := func(_ context.Context, err error) error {
		fmt.Printf("ack %s (err=%v)\n", word, err)
		return nil
	}
	return word, ack, nil
}

func (w *words) Close(context.Context) error { return nil }

// printer is a Sink that prints each item.
type printer struct{}

func (printer) Write(_ context.Context, batch []string) error {
	for _, s := range batch {
		fmt.Println("sink", s)
	}
	return nil
}

func (printer) Close(context.Context) error { return nil }

func Example() {
	r, err := pipeline.New(pipeline.Config{})
	if err != nil {
		panic(err)
	}
	src := pipeline.From(r, "words", pipeline.SourceConfig{}, pipeline.Source[string](&words{list: []string{"calm", "angry"}}))
	upper := pipeline.StageFunc[string, string](func(_ context.Context, s string) ([]string, error) {
		return []string{strings.ToUpper(s)}, nil
	})
	pipeline.To(pipeline.Via(src, "upper", pipeline.StageConfig{}, upper), "stdout", pipeline.SinkConfig{BatchSize: 1}, pipeline.Sink[string](printer{}))
	if err := r.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// sink CALM
	// ack calm (err=<nil>)
	// sink ANGRY
	// ack angry (err=<nil>)
}
