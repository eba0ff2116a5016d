package app

import (
	"context"
	"runtime"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink/preview"
)

// visionNice is the CPU priority (Unix nice value, 0 the default and 19 the
// lowest) of the threads that compute vision features. Vision is most of the
// CPU at many streams but has slack (each capture queues frames), while the
// time spent scoring a closed window adds to its event's latency: at nice
// 10 the kernel gives a contended core to scoring about nine times as often
// (CFS weights 1024 and 110).
const visionNice = 10

// visionStage is the pipeline stage ("vision") that computes the vision
// features of the video inputs' frames, on pipeline.vision_workers workers,
// each locked to an OS thread of lower CPU priority (see visionNice; where
// the priority cannot be lowered the threads keep the default one), so
// vision takes at most that many cores. The frames of one stream are
// processed one at a time, in order (the stage is a pipeline.Keyer by
// stream id), since the aligner drops a frame that arrives behind its
// stream's latest. Its input is unbuffered: while every worker is busy,
// frames wait in their capture's queue, which drops the oldest (counted),
// so a slow extractor drops frames instead of delaying the stream. A frame
// the extractor cannot read is counted with its input's drops and skipped.
// With a preview hub, the frames it finds due go to the dashboard with
// their face box (see previewFrame). With needs (set when privacy.roles
// is), a frame that no window to be scored can take any more (see
// align.Aligner.Needs) is passed on without features, neither detected
// nor shown: the aligner still advances its stream's watermark with it,
// and only windows that are not scored can hold it. With a cpu meter,
// each frame's CPU time counts as cputime.Vision.
type visionStage struct {
	preview *preview.Hub
	needs   func(stream string, t time.Duration) bool
	cpu     *cputime.Meter
}

// visionFrame is the Payload of a frame on its way to the vision stage:
// its pixels and the input it came from, whose extractor computes its
// features.
type visionFrame struct {
	pix           []byte
	width, height int
	in            *videoInput
}

// Process computes the features of a frame from a video input; it passes
// any other input on unchanged.
func (s visionStage) Process(_ context.Context, in align.Input) ([]align.Input, error) {
	m, ok := in.(align.Media)
	f, isFrame := m.Payload.(visionFrame)
	if !ok || !isFrame {
		return []align.Input{in}, nil
	}
	if s.needs != nil && !s.needs(m.StreamID, m.Time) {
		f.in.skipped.Add(1)
		m.Payload = nil
		return []align.Input{m}, nil
	}
	feat := make([]float32, vision.Dims)
	sp := s.cpu.Begin()
	err := f.in.ex.Extract(f.pix, f.width, f.height, feat)
	sp.Lap(cputime.Vision)
	sp.End()
	if err != nil {
		f.in.errs.Add(1)
		return nil, nil
	}
	if s.preview != nil && s.preview.Due(m.StreamID) {
		// Extract accepted the frame's size, the only thing Publish checks.
		_ = s.preview.Publish(previewFrame(m, f, feat))
	}
	m.Features, m.Payload = feat, nil
	return []align.Input{m}, nil
}

// Key orders the frames of each stream.
func (visionStage) Key(in align.Input) string {
	if m, ok := in.(align.Media); ok {
		return m.StreamID
	}
	return ""
}

// InitWorker locks the worker to its OS thread and lowers the thread's
// priority. The goroutine ends still locked, so the runtime ends the thread
// and its priority goes with it.
func (visionStage) InitWorker() {
	runtime.LockOSThread()
	lowerThreadPriority(visionNice)
}

// The capabilities the runner finds on the vision stage.
var (
	_ pipeline.Stage[align.Input, align.Input] = visionStage{}
	_ pipeline.Keyer[align.Input]              = visionStage{}
	_ pipeline.WorkerIniter                    = visionStage{}
)
