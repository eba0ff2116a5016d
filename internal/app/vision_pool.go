package app

import (
	"context"
	"runtime"
	"sync"

	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/video"
)

// visionNice is the CPU priority (Unix nice value, 0 the default and 19 the
// lowest) of the threads that compute vision features. Vision is most of the
// CPU at many streams but has slack (each capture queues frames), while the
// time spent scoring a closed window adds to its event's latency: at nice
// 10 the kernel gives a contended core to scoring about nine times as often
// (CFS weights 1024 and 110).
const visionNice = 10

// visionPool computes the vision features of the frames of every video
// input on a fixed number of goroutines, each locked to an OS thread of
// lower CPU priority (see visionNice; where the priority cannot be lowered
// the threads keep the default one). Frames wait for a free worker, so
// vision takes at most that many cores.
type visionPool struct {
	workers int
	jobs    chan visionJob
	wg      sync.WaitGroup
}

// visionJob is one frame to extract, and where to report.
type visionJob struct {
	ex   *vision.Extractor
	f    video.Frame
	feat []float32
	done chan error
}

func newVisionPool(workers int) *visionPool {
	return &visionPool{workers: workers, jobs: make(chan visionJob)}
}

// start runs the workers until stop.
func (p *visionPool) start() {
	for range p.workers {
		p.wg.Go(func() {
			// The goroutine exits still locked, so the runtime ends the
			// thread and its priority goes with it.
			runtime.LockOSThread()
			lowerThreadPriority(visionNice)
			for j := range p.jobs {
				j.done <- j.ex.Extract(j.f.Pix, j.f.Width, j.f.Height, j.feat)
			}
		})
	}
}

// stop ends the workers once the inputs stopped sending frames.
func (p *visionPool) stop() {
	close(p.jobs)
	p.wg.Wait()
}

// extract computes the features of frame f with ex into feat on a worker.
func (p *visionPool) extract(ctx context.Context, ex *vision.Extractor, f video.Frame, feat []float32) error {
	done := make(chan error, 1)
	select {
	case p.jobs <- visionJob{ex: ex, f: f, feat: feat, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-done
}
