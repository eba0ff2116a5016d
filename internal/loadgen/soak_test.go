package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
	"github.com/cmc-stream/cmc-stream/internal/onnx"
)

var (
	soak         = flag.Bool("soak", false, "run TestSoak (make soak)")
	soakDuration = flag.Duration("soak.duration", 10*time.Minute, "how long TestSoak plays its streams")
	soakStreams  = flag.Int("soak.streams", 4, "how many streams TestSoak plays")
	overload     = flag.Bool("overload", false, "run TestRunOverload (on an otherwise idle machine)")
)

// Soak bounds. The heap in use after a GC swings with the windows being
// scored (a window's audio extraction holds tens of MiB while it runs), so
// the test bounds the floor and the peak separately: after the warm-up (the
// first third of the run, at most 2 min: the first pass over the clip grows
// the pools and buffers once), the lowest sample of every minute after it
// (of at least three samples) must stay near the warm-up's lowest (a leak
// raises the floor), and every sample must stay below a looser bound on the
// warm-up's highest (runaway growth).
const (
	// soakFloorGrowth and soakFloorSlack (bytes) bound the floor: GC
	// timing and span granularity move HeapInuse by a few MiB.
	soakFloorGrowth = 0.25
	soakFloorSlack  = 4 << 20
	// soakPeakGrowth and soakPeakSlack (bytes) bound the peak: where the
	// sample falls in a window's scoring moves it by tens of MiB.
	soakPeakGrowth = 0.5
	soakPeakSlack  = 16 << 20
	// soakGoroutineSlack is the allowed growth of the goroutine count:
	// kafka-go's connection and fetch goroutines come and go.
	soakGoroutineSlack = 8
	// soakMinSamples is the fewest samples of a minute whose floor is
	// checked.
	soakMinSamples = 3
	// soakRSSGrowth and soakRSSSlack (bytes) bound the resident set: it
	// holds the native memory of OpenCV and ONNX Runtime, which the Go
	// heap does not show.
	soakRSSGrowth = 0.5
	soakRSSSlack  = 64 << 20
	// soakEvery is the sampling period.
	soakEvery = 10 * time.Second
)

// soakSample is one reading of the process's live heap, resident set and
// goroutines.
type soakSample struct {
	at         time.Duration
	heapInuse  uint64
	rss        uint64
	goroutines int
}

// residentBytes returns the process's resident set (VmRSS of
// /proc/self/status), in bytes.
func residentBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// TestSoak plays -soak.streams streams for -soak.duration (default 4 for
// 10 min) through one pipeline and samples the live heap (HeapInuse after a
// GC) and the goroutine count every 10 s: both must stay flat after the
// warm-up (see the soak bounds), and so must the resident set (RSS, which
// includes OpenCV's and ONNX Runtime's memory); every utterance gives one
// event with no drop, and with -tags matprofile no gocv Mat is left open.
// It runs only with -soak and never with -short.
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
			rss, err := residentBytes()
			if err != nil {
				t.Error(err)
			}
			s := soakSample{at: time.Since(start).Round(time.Second), heapInuse: ms.HeapInuse, rss: rss, goroutines: runtime.NumGoroutine()}
			t.Logf("%6v heap in use %8s, RSS %8s, %3d goroutines", s.at, mib(s.heapInuse), mib(s.rss), s.goroutines)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		}
	})
	r, err := Run(ctx, Config{Streams: *soakStreams, Clip: clip, Bundle: bundle, Assets: testNative.AssetsDir, Duration: *soakDuration})
	close(stop)
	wg.Wait()
	if errors.Is(err, video.ErrNotBuilt) || errors.Is(err, vision.ErrNotBuilt) || errors.Is(err, onnx.ErrNotBuilt) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %v", r)
	// With -tags matprofile (make stress), every Mat the video sources
	// and the vision stage made is closed once the run is over.
	if n, counted := liveMats(); counted && n != 0 {
		t.Errorf("%d gocv Mats not closed after the run", n)
	}
	// The README's soak figures: every utterance gives its event, with
	// no drop and no failure.
	if r.Events == 0 || r.Events != r.Expected || r.Dropped != 0 || r.Failed != 0 {
		t.Errorf("run: %d events for %d utterances, %d drops, %d failed; want one event each, no drop, no failure",
			r.Events, r.Expected, r.Dropped, r.Failed)
	}
	warmUp := min(2*time.Minute, *soakDuration/3)
	base := soakBounds{floor: math.MaxUint64}
	floors := map[time.Duration]uint64{} // minute after the warm-up -> lowest heap in use
	counts := map[time.Duration]int{}    // minute after the warm-up -> samples
	for _, s := range samples {
		if s.at <= warmUp {
			base.floor, base.peak = min(base.floor, s.heapInuse), max(base.peak, s.heapInuse)
			base.goroutines = max(base.goroutines, s.goroutines)
			base.rss = max(base.rss, s.rss)
			continue
		}
		m := (s.at - warmUp - 1).Truncate(time.Minute)
		if f, ok := floors[m]; !ok || s.heapInuse < f {
			floors[m] = s.heapInuse
		}
		counts[m]++
		if peak := uint64(float64(base.peak)*(1+soakPeakGrowth)) + soakPeakSlack; s.heapInuse > peak {
			t.Errorf("at %v the heap in use is %s, above %s (warm-up peak %s + 50%% + 16 MiB)", s.at, mib(s.heapInuse), mib(peak), mib(base.peak))
		}
		if rss := uint64(float64(base.rss)*(1+soakRSSGrowth)) + soakRSSSlack; s.rss > rss {
			t.Errorf("at %v the resident set is %s, above %s (warm-up peak %s + 50%% + 64 MiB)", s.at, mib(s.rss), mib(rss), mib(base.rss))
		}
		if s.goroutines > base.goroutines+soakGoroutineSlack {
			t.Errorf("at %v %d goroutines run, above %d (warm-up peak %d + %d)",
				s.at, s.goroutines, base.goroutines+soakGoroutineSlack, base.goroutines, soakGoroutineSlack)
		}
	}
	if base.goroutines == 0 || len(floors) == 0 {
		t.Fatalf("%d samples, too few for a run of %v", len(samples), *soakDuration)
	}
	floor := uint64(float64(base.floor)*(1+soakFloorGrowth)) + soakFloorSlack
	for m, f := range floors {
		// A minute cut short by the end of the run has too few samples
		// to show its floor.
		if f > floor && counts[m] >= soakMinSamples {
			t.Errorf("in minute %v after the warm-up the lowest heap in use is %s, above %s (warm-up floor %s + 25%% + 4 MiB)",
				m, mib(f), mib(floor), mib(base.floor))
		}
	}
}

// soakBounds are the warm-up's lowest and highest heap in use, highest
// resident set and most goroutines.
type soakBounds struct {
	floor, peak uint64
	rss         uint64 // the highest resident set
	goroutines  int
}

// mib formats bytes in MiB.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
