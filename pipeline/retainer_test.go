package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// pairer holds its inputs by parity and emits the sum of each two of the
// same parity, which derives from both; Drain emits what is left alone.
type pairer struct {
	held     map[int][]held
	released []pipeline.Hold
}

type held struct {
	x int
	h pipeline.Hold
}

// sum is a pairer output with its lineage.
type sum struct {
	v     int
	holds []pipeline.Hold
}

func (p *pairer) Retain(_ context.Context, x int, h pipeline.Hold) ([]sum, error) {
	if p.held == nil {
		p.held = map[int][]held{}
	}
	k := x % 2
	p.held[k] = append(p.held[k], held{x, h})
	if len(p.held[k]) < 2 {
		return nil, nil
	}
	out := p.emit(k)
	return []sum{out}, nil
}

func (p *pairer) emit(k int) sum {
	var s sum
	for _, e := range p.held[k] {
		s.v += e.x
		s.holds = append(s.holds, e.h)
		p.released = append(p.released, e.h)
	}
	delete(p.held, k)
	return s
}

func (p *pairer) Drain(context.Context) ([]sum, error) {
	var out []sum
	for _, k := range []int{0, 1} {
		if len(p.held[k]) > 0 {
			out = append(out, p.emit(k))
		}
	}
	return out, nil
}

func (p *pairer) Lineage(s sum) []pipeline.Hold { return s.holds }

func (p *pairer) Released() []pipeline.Hold {
	r := p.released
	p.released = nil
	return r
}

func TestRetainerAcksAfterDerivedOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail int // the sum the sink rejects, 0 for none
	}{
		{name: "accepted"},
		{name: "sink rejects a pair", fail: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			src := &sliceSource{j: j, items: []int{1, 2, 3, 4, 5}}
			sink := &recordingSink{name: "sink", j: j, fail: func(v int) error {
				if v == tc.fail {
					return errBoom
				}
				return nil
			}}
			r := newRunner(t, pipeline.Config{})
			sums := pipeline.ViaRetainer(pipeline.From(r, "src", pipeline.SourceConfig{}, src), "pair", pipeline.StageConfig{}, pipeline.Retainer[int, sum](&pairer{}))
			values := pipeline.Via(sums, "value", pipeline.StageConfig{}, pipeline.StageFunc[sum, int](func(_ context.Context, s sum) ([]int, error) {
				return []int{s.v}, nil
			}))
			pipeline.To(values, "sink", pipeline.SinkConfig{}, sink)
			if err := r.Run(t.Context()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			// 1+3 = 4 and 2+4 = 6 are emitted as pairs complete; 5 is
			// drained alone.
			derived := map[int]int{1: 4, 3: 4, 2: 6, 4: 6, 5: 5}
			acks := src.ackErrs()
			for x, v := range derived {
				err, ok := acks[x]
				if !ok {
					t.Errorf("item %d not acked", x)
					continue
				}
				if v == tc.fail {
					if !errors.Is(err, errBoom) {
						t.Errorf("item %d acked with %v, want errBoom", x, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("item %d acked with %v", x, err)
				}
				if w, a := j.index(fmt.Sprintf("sink write %d", v)), j.index(fmt.Sprintf("ack %d", x)); w < 0 || a < w {
					t.Errorf("item %d acked at %d, before its sum %d was written at %d", x, a, v, w)
				}
			}
		})
	}
}

func TestRetainerNeedsOneWorker(t *testing.T) {
	t.Parallel()
	j := &journal{}
	r := newRunner(t, pipeline.Config{})
	sums := pipeline.ViaRetainer(pipeline.From(r, "src", pipeline.SourceConfig{}, &sliceSource{j: j}), "pair", pipeline.StageConfig{Workers: 2}, pipeline.Retainer[int, sum](&pairer{}))
	pipeline.To(sums, "sink", pipeline.SinkConfig{}, pipeline.Sink[sum](discardSums{}))
	if err := r.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "StageConfig.Workers must be 1") {
		t.Errorf("Run = %v, want an error about Workers", err)
	}
}

type discardSums struct{}

func (discardSums) Write(context.Context, []sum) error { return nil }
func (discardSums) Close(context.Context) error        { return nil }
