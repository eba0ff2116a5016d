package pipeline_test

import (
	"context"
	"testing"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// countSource yields n items with an AckFunc each, then ends.
type countSource struct{ n int }

func (s *countSource) Connect(context.Context) error { return nil }

func (s *countSource) Read(context.Context) (int, pipeline.AckFunc, error) {
	if s.n == 0 {
		return 0, nil, pipeline.ErrEndOfInput
	}
	s.n--
	return s.n, func(context.Context, error) error { return nil }, nil
}

func (s *countSource) Close(context.Context) error { return nil }

// discard accepts every batch.
type discard struct{}

func (discard) Write(context.Context, []int) error { return nil }
func (discard) Close(context.Context) error        { return nil }

// BenchmarkRunner measures the runner's per-item overhead: a source, two
// stages of four workers with small buffers, and a sink; ns/op is per item.
func BenchmarkRunner(b *testing.B) {
	id := pipeline.StageFunc[int, int](func(_ context.Context, x int) ([]int, error) { return []int{x}, nil })
	r, err := pipeline.New(pipeline.Config{})
	if err != nil {
		b.Fatal(err)
	}
	src := pipeline.From(r, "src", pipeline.SourceConfig{Buffer: 16}, pipeline.Source[int](&countSource{n: b.N}))
	a := pipeline.Via(src, "a", pipeline.StageConfig{Workers: 4, Buffer: 16}, id)
	c := pipeline.Via(a, "b", pipeline.StageConfig{Workers: 4, Buffer: 16}, id)
	pipeline.To(c, "sink", pipeline.SinkConfig{}, pipeline.Sink[int](discard{}))
	b.ReportAllocs()
	b.ResetTimer()
	if err := r.Run(b.Context()); err != nil {
		b.Fatal(err)
	}
}
