package align_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
)

// liveInputs returns d of one stream as it arrives live: 20 ms audio chunks
// at 16 kHz, 30 frame/s video with 64 features, and a final transcript
// segment every 2 s.
func liveInputs(id string, d time.Duration) []align.Input {
	const chunk = 20 * time.Millisecond
	samples := make([]float32, 320)
	features := make([]float32, 64)
	var in []align.Input
	nextFrame, nextSeg := time.Duration(0), 2*time.Second
	for t := time.Duration(0); t < d; t += chunk {
		in = append(in, align.Media{StreamID: id, Modality: align.Audio, Time: t, Samples: samples, SampleRate: 16000})
		for ; nextFrame < t+chunk; nextFrame += time.Second / 30 {
			in = append(in, align.Media{StreamID: id, Modality: align.Vision, Time: nextFrame, Features: features})
		}
		if t+chunk >= nextSeg {
			in = append(in, align.Segment{StreamID: id, Start: nextSeg - 2*time.Second, End: nextSeg - 200*time.Millisecond, Text: "words", Final: true})
			nextSeg += 2 * time.Second
		}
	}
	return in
}

// BenchmarkAdd measures Add per input (ingest and emission), one stream or
// 100 interleaved, for both policies; ns/op is per input.
func BenchmarkAdd(b *testing.B) {
	for _, policy := range []align.Policy{align.Utterance, align.Sliding} {
		for _, streams := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/streams=%d", policy, streams), func(b *testing.B) {
				per := make([][]align.Input, streams)
				for i := range per {
					per[i] = liveInputs(fmt.Sprintf("s%d", i), 60*time.Second)
				}
				var in []align.Input
				for j := range per[0] {
					for i := range per {
						in = append(in, per[i][j])
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				windows := 0
				for i := 0; i < b.N; {
					b.StopTimer()
					a := newAligner(b, align.Config{Policy: policy})
					b.StartTimer()
					for _, x := range in {
						if i == b.N {
							break
						}
						ws, err := a.Add(x)
						if err != nil {
							b.Fatal(err)
						}
						windows += len(ws)
						i++
					}
				}
				b.ReportMetric(float64(windows)/float64(b.N), "windows/op")
			})
		}
	}
}
