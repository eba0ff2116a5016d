package train

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/model"
)

// TestEngineDeterminism checks that the same seed and step give the same
// bytes with any thread count (a batch of 20 is three shards, 8+8+4,
// which 1, 2 and 3 goroutines share differently), and that another step
// key changes the dropout masks.
func TestEngineDeterminism(t *testing.T) {
	run := func(threads int, step uint64) (Losses, []float32) {
		m, in, lab := randomCase(t, 2, 2, 8, 20, 21)
		eng, err := NewEngine(m, EngineOptions{Threads: threads, OutDropout: 0.3, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		l, err := eng.Stage2(in, lab, step)
		if err != nil {
			t.Fatal(err)
		}
		var g []float32
		for _, p := range eng.Grads().Params() {
			g = append(g, p.Data...)
		}
		return l, g
	}
	l1, g1 := run(2, 1)
	l2, g2 := run(2, 1)
	if l1 != l2 || !slices.Equal(g1, g2) {
		t.Error("two runs with the same seed differ")
	}
	l3, _ := run(2, 2)
	if l3.Total == l1.Total {
		t.Error("a different step key gave the same loss")
	}
	for _, threads := range []int{1, 3} {
		l, g := run(threads, 1)
		if l != l1 || !slices.Equal(g, g1) {
			t.Errorf("%d threads: loss %.8g, gradients differ from 2 threads' (loss %.8g)", threads, l.Total, l1.Total)
		}
	}
}

func TestEngineErrors(t *testing.T) {
	m, in, lab := randomCase(t, 1, 1, 8, 3, 1)
	for _, tc := range []struct {
		name string
		opts EngineOptions
		want string
	}{
		{"dropout-one", EngineOptions{OutDropout: 1}, "dropout"},
		{"bad-rule", EngineOptions{SupConRule: "x"}, "SupCon rule"},
		{"tiny-temperature", EngineOptions{SupConTemperature: 0.001}, "temperature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEngine(m, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	// top_k below 3 runs in inference only (README, Limits).
	m.Config.TopK = 2
	if _, err := NewEngine(m, EngineOptions{}); err == nil || !strings.Contains(err.Error(), "top_k 2 is not supported") {
		t.Errorf("top_k 2: error %v, want it refused", err)
	}
	m.Config.TopK = model.Experts
	eng, err := NewEngine(m, EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	short := *in
	short[model.Audio].Len--
	nan := *in
	nan[model.Vision].Data = slices.Clone(in[model.Vision].Data)
	nan[model.Vision].Data[3] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		in   *model.Input
		lab  *Labels
		want string
	}{
		{"short-audio", &short, lab, "input \"audio\" has shape"},
		{"nan", &nan, lab, "non-finite"},
		{"label-range", in, &Labels{M: []int{0, 1, 3}, Uni: lab.Uni}, "M label 3"},
		{"label-count", in, &Labels{M: lab.M, Uni: [3][]int{lab.Uni[0], {1}, lab.Uni[2]}}, "audio labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eng.Stage2(tc.in, tc.lab, 0)
			if err == nil || !strings.HasPrefix(err.Error(), "train: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestEngineSmallBatch checks a batch smaller than the thread count (one
// shard, idle goroutines) against a single thread.
func TestEngineSmallBatch(t *testing.T) {
	var losses []float64
	for _, threads := range []int{1, 3} {
		m, in, lab := randomCase(t, 1, 2, 8, 2, 5)
		eng, err := NewEngine(m, EngineOptions{Threads: threads, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		l, err := eng.Stage1(in, lab, 0)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l.Total)
	}
	if math.Abs(losses[0]-losses[1]) > 1e-6 {
		t.Errorf("1 thread: loss %.8g, 3 threads: %.8g", losses[0], losses[1])
	}
}
