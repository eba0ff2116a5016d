package app

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/ingest/sourcetest"
	"github.com/cmc-stream/cmc-stream/ingest/transcript"
	"github.com/cmc-stream/cmc-stream/ingest/video"
)

// ffmpegClip writes a clip made by ffmpeg from the lavfi inputs args and
// returns its path.
func ffmpegClip(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make setup installs it)")
	}
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("ffmpeg", append(append([]string{"-loglevel", "error"}, args...), path)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// TestAudioFileConformance runs the source conformance suite on the audio
// file source (ingest/media) over a WAV file, read directly, and over the
// audio track of a video file, decoded by ffmpeg: one second at 16 kHz is
// 50 chunks of 20 ms (media.DefaultChunkDuration), contiguous, stamped
// with the stream's origin. The WAV's samples are a ramp the chunks must
// reproduce to 16-bit precision.
func TestAudioFileConformance(t *testing.T) {
	const rate = 16000
	ramp := make([]float32, rate)
	for i := range ramp {
		ramp[i] = float32(i)/rate - 0.5
	}
	wav := filepath.Join(t.TempDir(), "ramp.wav")
	writeWAV(t, wav, ramp, rate)
	clip := ffmpegClip(t, "clip.avi", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1", "-c:v", "mjpeg", "-c:a", "pcm_s16le", "-shortest")
	for _, tc := range []struct {
		name, path string
		samples    []float32 // nil: not checked
	}{{"wav", wav, ramp}, {"video's audio track", clip, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[align.Input] {
				clock := NewStreamClock(nil, time.Hour)
				return sourcetest.Fixture[align.Input]{Source: newAudioFileInput(AudioSource{StreamID: "call", File: tc.path, SampleRate: rate, Realtime: new(false)}, PrivacyConfig{}, clock), Items: 50,
					Check: func(t *testing.T, items []align.Input) {
						origin := clock.Origin("call", 0)
						for i, in := range items {
							m := in.(align.Media)
							if m.StreamID != "call" || m.Modality != align.Audio || m.Time != time.Duration(i)*20*time.Millisecond ||
								len(m.Samples) != 320 || m.SampleRate != rate || !m.Origin.Equal(origin) {
								t.Fatalf("chunk %d: %s %v at %v, %d samples at %d Hz, origin %v; want call audio at %v, 320 at 16000 Hz, origin %v",
									i, m.StreamID, m.Modality, m.Time, len(m.Samples), m.SampleRate, m.Origin, time.Duration(i)*20*time.Millisecond, origin)
							}
							for j, v := range m.Samples {
								if tc.samples != nil && math.Abs(float64(v-tc.samples[320*i+j])) > 1.0/32767 {
									t.Fatalf("chunk %d sample %d = %g, the file holds %g", i, j, v, tc.samples[320*i+j])
								}
							}
						}
					}}
			})
		})
	}
}

// TestVideoConformance runs the source conformance suite on the video
// source (ingest/video, gocv) over a one-second clip at 15 frames/s made by
// ffmpeg: 15 frames at the container's times, each carrying its 160x120 BGR
// pixels for the vision stage and the stream's origin.
func TestVideoConformance(t *testing.T) {
	clip := ffmpegClip(t, "clip.avi", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=1", "-c:v", "mjpeg")
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[align.Input] {
		ex, err := vision.New(vision.DefaultConfig(testNative.AssetsDir))
		if err != nil {
			t.Fatal(err)
		}
		clock := NewStreamClock(nil, time.Hour)
		in := &videoInput{stream: "cam", clock: clock, ex: ex,
			cfg: video.Config{Device: clip, FPS: 15, Width: 160, Height: 120}}
		// The 15 frames of the clip, of which the vision recipe samples
		// frames 0, 3, 6, 9 and 12 (vision.FrameStep 3), each announcing
		// the next sampled one 3/15 s on.
		return sourcetest.Fixture[align.Input]{Source: in, Items: 5, Check: func(t *testing.T, items []align.Input) {
			origin := clock.Origin("cam", 0)
			for i, it := range items {
				m := it.(align.Media)
				f, ok := m.Payload.(visionFrame)
				at := time.Duration(3*i) * time.Second / 15
				if m.StreamID != "cam" || m.Modality != align.Vision || (m.Time-at).Abs() > time.Millisecond || !m.Origin.Equal(origin) ||
					(m.Interval-time.Second/5).Abs() > time.Millisecond ||
					!ok || f.width != 160 || f.height != 120 || len(f.pix) != 160*120*3 || f.in != in {
					t.Fatalf("frame %d: %s %v at %v (next in %v), origin %v, payload %T; want cam vision at %v (next in 200ms), origin %v, 160x120 BGR pixels", i, m.StreamID, m.Modality, m.Time, m.Interval, m.Origin, m.Payload, at, origin)
				}
			}
		}}
	})
}

// TestTranscriptFeedConformance runs the source conformance suite on the
// transcript feed (ingest/transcript through the app's conversion to stream
// time) over a file of two wall-clock segments: the first starts the
// stream, so its offset is 0 and the second's is its distance from the
// first; both carry the origin and the wall-clock mark the event ids count
// from.
func TestTranscriptFeedConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.jsonl")
	if err := os.WriteFile(path, []byte(`{"stream_id":"call","start":"2026-11-27T10:00:00.5Z","end":"2026-11-27T10:00:02Z","text":"hello","final":true}
{"stream_id":"call","start":"2026-11-27T10:00:03.25Z","end":"2026-11-27T10:00:04Z","text":"order late","final":true}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 11, 27, 10, 0, 0, 500_000_000, time.UTC)
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[align.Input] {
		f, err := transcript.NewFile(transcript.FileConfig{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		reject := func(_ context.Context, item any, reason error) error {
			t.Errorf("rejected %v: %v", item, reason)
			return nil
		}
		in := &transcriptInput{src: segmentFeed{f}, clock: NewStreamClock(nil, time.Hour), reject: reject, rate: DefaultSampleRate}
		return sourcetest.Fixture[align.Input]{Source: in, Items: 2, Check: func(t *testing.T, items []align.Input) {
			for i, want := range []align.Segment{{Start: 0, End: 1500 * time.Millisecond, Text: "hello"}, {Start: 2750 * time.Millisecond, End: 3500 * time.Millisecond, Text: "order late"}} {
				s := items[i].(align.Segment)
				if s.StreamID != "call" || s.Start != want.Start || s.End != want.End || s.Text != want.Text || !s.Origin.Equal(first) || !s.WallClock {
					t.Errorf("segment %d = %+v, want %q over [%v, %v) from origin %v, wall-clock", i, s, want.Text, want.Start, want.End, first)
				}
			}
		}}
	})
}
