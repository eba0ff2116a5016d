package bench

import (
	"context"
	"errors"
	"flag"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/model/onnx"
)

var (
	soak         = flag.Bool("soak", false, "run TestSoak (make soak)")
	soakDuration = flag.Duration("soak.duration", 10*time.Minute, "how long TestSoak plays its streams")
	soakStreams  = flag.Int("soak.streams", 4, "how many streams TestSoak plays")
)

// Soak bounds. After the warm-up (the first third of the run, at most
// 2 min: the first pass over the clip grows the pools and buffers once),
// every sample must stay within these of the warm-up's largest sample.
const (
	// soakHeapGrowth is the allowed relative growth of the live heap.
	soakHeapGrowth = 0.25
	// soakHeapSlack is allowed on top, in bytes: GC timing and the
	// allocator's span granularity move HeapInuse by a few MiB.
	soakHeapSlack = 4 << 20
	// soakGoroutineSlack is the allowed growth of the goroutine count:
	// kafka-go's connection and fetch goroutines come and go.
	soakGoroutineSlack = 8
	// soakEvery is the sampling period.
	soakEvery = 10 * time.Second
)

// soakSample is one reading of the process's live heap and goroutines.
type soakSample struct {
	at         time.Duration
	heapInuse  uint64
	goroutines int
}

// TestSoak plays -soak.streams streams for -soak.duration (default 4 for
// 10 min) through one pipeline and samples the live heap (HeapInuse after a
// GC) and the goroutine count every 10 s: both must stay flat after the
// warm-up. It runs only with -soak and never with -short.
func TestSoak(t *testing.T) {
	if testing.Short() || !*soak {
		t.Skip("soak test: run with -soak (make soak)")
	}
	clip, bundle := demoClip(t)
	ctx, cancel := context.WithTimeout(t.Context(), *soakDuration+5*time.Minute)
	defer cancel()

	var (
		mu      sync.Mutex
		samples []soakSample
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	start := time.Now()
	wg.Go(func() {
		tick := time.NewTicker(soakEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s := soakSample{at: time.Since(start).Round(time.Second), heapInuse: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
			t.Logf("%6v heap in use %6.1f MiB, %3d goroutines", s.at, float64(s.heapInuse)/(1<<20), s.goroutines)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		}
	})
	r, err := Run(ctx, Config{Streams: *soakStreams, Clip: clip, Bundle: bundle, Duration: *soakDuration})
	close(stop)
	wg.Wait()
	if errors.Is(err, video.ErrNotBuilt) || errors.Is(err, vision.ErrNotBuilt) || errors.Is(err, onnx.ErrNotBuilt) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %v", r)
	if r.Events == 0 || r.Failed != 0 {
		t.Errorf("run: %d events, %d failed", r.Events, r.Failed)
	}
	warmUp := min(2*time.Minute, *soakDuration/3)
	var base soakSample
	var after []soakSample
	for _, s := range samples {
		if s.at <= warmUp {
			base.heapInuse, base.goroutines = max(base.heapInuse, s.heapInuse), max(base.goroutines, s.goroutines)
			continue
		}
		after = append(after, s)
	}
	if base.goroutines == 0 || len(after) == 0 {
		t.Fatalf("%d samples, too few for a run of %v", len(samples), *soakDuration)
	}
	heapBound := uint64(float64(base.heapInuse)*(1+soakHeapGrowth)) + soakHeapSlack
	for _, s := range after {
		if s.heapInuse > heapBound {
			t.Errorf("at %v the heap in use is %.1f MiB, above %.1f MiB (warm-up peak %.1f MiB + 25%% + 4 MiB)",
				s.at, float64(s.heapInuse)/(1<<20), float64(heapBound)/(1<<20), float64(base.heapInuse)/(1<<20))
		}
		if s.goroutines > base.goroutines+soakGoroutineSlack {
			t.Errorf("at %v %d goroutines run, above %d (warm-up peak %d + %d)",
				s.at, s.goroutines, base.goroutines+soakGoroutineSlack, base.goroutines, soakGoroutineSlack)
		}
	}
}
