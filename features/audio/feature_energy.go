package audio

import "math"

// zeroCrossingThreshold is the magnitude at or below which a sample counts
// as zero (librosa zero_crossings default threshold=1e-10, compared in
// float32 as numpy does for a float32 signal).
const zeroCrossingThreshold = float32(1e-10)

// ZeroCrossingRate writes into dst the zero-crossing rate of each centred
// frame of y, as librosa.feature.zero_crossing_rate(y, frame_length,
// hop_length, center=True): y is extended at both ends by frameLength/2
// copies of its edge samples; a sample with magnitude at most 1e-10 counts
// as +0; a crossing is a change of sign bit between neighbours within a
// frame; the rate is crossings/frameLength. It writes len(dst) frames; y has
// 1+len(y)/hopLength of them. An empty y has rate 0.
func ZeroCrossingRate(dst []float32, y []float32, frameLength, hopLength int) {
	if len(y) == 0 {
		clear(dst)
		return
	}
	half := frameLength / 2
	negative := func(i int) bool {
		i = min(max(i, 0), len(y)-1)
		v := y[i]
		if v <= zeroCrossingThreshold && v >= -zeroCrossingThreshold {
			return false
		}
		return math.Signbit(float64(v))
	}
	for t := range dst {
		start := t*hopLength - half
		crossings := 0
		prev := negative(start)
		for i := start + 1; i < start+frameLength; i++ {
			cur := negative(i)
			if cur != prev {
				crossings++
			}
			prev = cur
		}
		dst[t] = float32(float64(crossings) / float64(frameLength))
	}
}

// RMS writes into dst the root-mean-square of each centred frame of y, as
// librosa.feature.rms(y, frame_length, hop_length, center=True,
// pad_mode="constant"): frames of frameLength samples starting every
// hopLength samples on y padded with frameLength/2 zeros at both ends. It
// writes len(dst) frames; y has 1+len(y)/hopLength of them.
func RMS(dst []float32, y []float32, frameLength, hopLength int) {
	half := frameLength / 2
	for t := range dst {
		start := t*hopLength - half
		var sum float64
		for i := max(start, 0); i < min(start+frameLength, len(y)); i++ {
			v := float64(y[i])
			sum += v * v
		}
		dst[t] = float32(math.Sqrt(sum / float64(frameLength)))
	}
}
