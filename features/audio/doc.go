// Package audio extracts frame-level acoustic features from a mono waveform
// with the CH-SIMS 33-dimensional recipe of thuiar/MMSA (DataPre.py), as
// computed by librosa 0.10.1, plus frame energy.
//
// For every hop of 512 samples at 22050 Hz (centred frames, so a clip of n
// samples has 1 + n/512 frames) an [Extractor] produces, in column order:
//
//   - zcr: zero-crossing rate over 2048-sample frames (librosa
//     feature.zero_crossing_rate, edge padding, threshold 1e-10, zero counted
//     as positive). MMSA calls this column "f0"; no pitch tracker is involved.
//   - mfcc_1 .. mfcc_20: MFCCs from a 2048-point periodic-Hann power STFT,
//     128 mel bands on the HTK mel scale with Slaney area normalisation,
//     10*log10 with amin 1e-10 and an 80 dB floor below the clip maximum,
//     then the orthonormal DCT-II (Davis and Mermelstein 1980).
//   - chroma_C .. chroma_B: chroma from a constant-Q transform (Brown 1991;
//     Schörkhuber and Klapuri 2010) of 7 octaves x 36 bins from C1 =
//     32.703 Hz, computed octave by octave on a signal halved in rate each
//     octave, folded onto 12 pitch classes and scaled to a per-frame maximum
//     of 1. The CQT is retuned per clip with librosa's estimate_tuning
//     (parabolic-interpolated spectral peaks, histogram of deviations from
//     the equal-tempered grid).
//   - rms: root-mean-square energy of 2048-sample zero-padded frames.
//
// librosa halves the signal between CQT octaves with the soxr "HQ"
// resampler; this package uses the Fourier-domain resampler of
// scipy.signal.resample (librosa res_type "fft") instead, so its chroma
// matches librosa's res_type="fft" CQT to 1e-5 and librosa's default to
// about 0.05 (see testdata/librosa/README.md).
//
// Input at another sample rate is first converted by [Resample], a
// windowed-sinc interpolator with a Kaiser window (the parameters of
// resampy's "kaiser_best" filter, which librosa 0.7.1 used when MMSA built
// the CH-SIMS features). [ReadWAV] decodes PCM and IEEE-float WAV files and
// averages their channels like librosa's to_mono.
//
// The package is pure Go and builds with CGO_ENABLED=0: gonum supplies the
// windows and the mixed-radix FFT of arbitrary lengths; the power-of-two
// STFT and CQT frames use a radix-2 real FFT of this package (about four
// times faster here, checked against gonum's), which also carries Bluestein's
// algorithm for lengths with large prime factors.
//
// An [Extractor] reuses buffers between calls and is not safe for concurrent
// use; [Resample], [ReadWAV] and [DecodeWAV] are.
package audio
