package audio

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/cmc-stream/cmc-stream/internal/wav"
)

// Defaults of the CH-SIMS recipe (thuiar/MMSA DataPre.py calling librosa
// 0.10.1 with its defaults).
const (
	// DefaultSampleRate is the analysis rate in Hz (librosa.load default).
	DefaultSampleRate = 22050
	// DefaultHopLength is the frame hop in samples (MMSA hop_length=512).
	DefaultHopLength = 512
	// DefaultFFTSize is the STFT size and frame length in samples of the
	// MFCC, zero-crossing and RMS frames (librosa default n_fft=2048).
	DefaultFFTSize = 2048
	// DefaultMelBands is the number of mel bands behind the MFCCs (librosa
	// default n_mels=128).
	DefaultMelBands = 128
	// DefaultMFCCs is the number of cepstral coefficients (librosa default
	// n_mfcc=20).
	DefaultMFCCs = 20
	// DefaultTopDB is the dynamic range in dB kept by the log-mel spectrum
	// below its clip maximum (librosa power_to_db default top_db=80).
	DefaultTopDB = 80.0
)

// MelScale names the Hz-to-mel mapping of the mel filterbank.
type MelScale string

const (
	// MelHTK is 2595*log10(1+f/700) (O'Shaughnessy 1987; librosa htk=True),
	// the scale of the CH-SIMS recipe.
	MelHTK MelScale = "htk"
	// MelSlaney is linear below 1 kHz and logarithmic above (Slaney's
	// Auditory Toolbox; librosa's default htk=False).
	MelSlaney MelScale = "slaney"
)

// Config sets the parameters of an [Extractor]. The zero value selects the
// CH-SIMS recipe; every field documents its default.
type Config struct {
	// SampleRate is the analysis rate in Hz; input at another rate is
	// resampled to it. Default 22050. The 7-octave CQT from C1 needs a rate
	// between about 8.4 kHz (its top filter must stay below Nyquist) and
	// 33 kHz (above that librosa would downsample before the CQT).
	SampleRate int
	// HopLength is the frame hop in samples at SampleRate. Default 512. It
	// must be a multiple of 64 because the CQT halves it once per octave.
	HopLength int
	// FFTSize is the STFT size and the frame length, in samples, of the
	// zero-crossing rate and RMS frames. Default 2048. Must be even.
	FFTSize int
	// MelBands is the number of mel bands behind the MFCCs. Default 128.
	MelBands int
	// MFCCs is the number of cepstral coefficients kept, at most MelBands.
	// Default 20.
	MFCCs int
	// MelScale is the Hz-to-mel mapping. Default MelHTK.
	MelScale MelScale
	// Threads is the number of goroutines one call uses: from 2, the CQT's
	// octave halving runs beside the STFT and the CQT's octaves are shared
	// out, which shortens a call on idle cores without changing its
	// numbers. Default 1.
	Threads int
	// FastLength lets a call drop a few samples from the end of the
	// signal (after resampling; at most MaxFastLengthTrim) so that the
	// CQT's octave halving only meets lengths with small prime factors.
	// The halving transforms the whole signal, and a length with a large
	// prime factor costs several times as much (Bluestein's algorithm): on
	// 40 random lengths of 2.7 to 5 s, halving took 97 ms on average (161
	// at worst) and 22 ms after trimming at most 204 samples (9 ms). The
	// features are those of the trimmed signal, so this is for live
	// windows, whose ends are set by a transcript's timing anyway;
	// datasets keep every sample. Default false.
	FastLength bool
}

func (c Config) withDefaults() Config {
	if c.SampleRate == 0 {
		c.SampleRate = DefaultSampleRate
	}
	if c.HopLength == 0 {
		c.HopLength = DefaultHopLength
	}
	if c.FFTSize == 0 {
		c.FFTSize = DefaultFFTSize
	}
	if c.MelBands == 0 {
		c.MelBands = DefaultMelBands
	}
	if c.MFCCs == 0 {
		c.MFCCs = DefaultMFCCs
	}
	if c.MelScale == "" {
		c.MelScale = MelHTK
	}
	if c.Threads == 0 {
		c.Threads = 1
	}
	return c
}

// Validate reports the first invalid field of c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.SampleRate < 0:
		return fmt.Errorf("audio: config: SampleRate %d Hz is negative", c.SampleRate)
	case c.HopLength < 0 || c.HopLength%cqtHopMultiple != 0:
		return fmt.Errorf("audio: config: HopLength %d must be a positive multiple of %d", c.HopLength, cqtHopMultiple)
	case c.FFTSize < 2 || c.FFTSize%2 != 0:
		return fmt.Errorf("audio: config: FFTSize %d must be even and at least 2", c.FFTSize)
	case c.MelBands < 1:
		return fmt.Errorf("audio: config: MelBands %d must be positive", c.MelBands)
	case c.MFCCs < 1 || c.MFCCs > c.MelBands:
		return fmt.Errorf("audio: config: MFCCs %d must be between 1 and MelBands (%d)", c.MFCCs, c.MelBands)
	case c.Threads < 0:
		return fmt.Errorf("audio: config: Threads %d is negative", c.Threads)
	case c.MelScale != MelHTK && c.MelScale != MelSlaney:
		return fmt.Errorf("audio: config: MelScale %q is neither %q nor %q", c.MelScale, MelHTK, MelSlaney)
	}
	return checkCQTRate(c.SampleRate, c.HopLength)
}

// SpecName is the feature-spec name of the recipe an [Extractor] computes.
const SpecName = "librosa-mmsa33-rms"

// SpecVersion is bumped whenever a change alters the extracted numbers.
const SpecVersion = "1"

// Spec describes the features an [Extractor] produces, for a model bundle to
// record and check: the recipe name and version, its parameters and the
// column names in order.
type Spec struct {
	// Name is the recipe, SpecName.
	Name string `json:"name"`
	// Version is the recipe version, SpecVersion.
	Version string `json:"version"`
	// SampleRate is the analysis rate in Hz.
	SampleRate int `json:"sample_rate"`
	// HopLength is the frame hop in samples at SampleRate.
	HopLength int `json:"hop_length"`
	// FFTSize is the STFT size and frame length in samples.
	FFTSize int `json:"n_fft"`
	// MelBands is the number of mel bands behind the MFCCs.
	MelBands int `json:"n_mels"`
	// MFCCs is the number of cepstral coefficients.
	MFCCs int `json:"n_mfcc"`
	// MelScale is the mel scale of the filterbank.
	MelScale MelScale `json:"mel_scale"`
	// Columns names the feature columns in order.
	Columns []string `json:"columns"`
}

// Check returns an error naming the first field in which other differs from
// s, or nil when they describe the same features.
func (s Spec) Check(other Spec) error {
	type field struct {
		name      string
		want, got any
	}
	for _, f := range []field{
		{"name", s.Name, other.Name}, {"version", s.Version, other.Version},
		{"sample_rate", s.SampleRate, other.SampleRate}, {"hop_length", s.HopLength, other.HopLength},
		{"n_fft", s.FFTSize, other.FFTSize}, {"n_mels", s.MelBands, other.MelBands},
		{"n_mfcc", s.MFCCs, other.MFCCs}, {"mel_scale", s.MelScale, other.MelScale},
		{"columns", strings.Join(s.Columns, ","), strings.Join(other.Columns, ",")},
	} {
		if f.want != f.got {
			return fmt.Errorf("audio: feature spec %s is %v, want %v", f.name, f.got, f.want)
		}
	}
	return nil
}

// Dims returns the number of feature columns.
func (s Spec) Dims() int { return len(s.Columns) }

// Features holds one clip's features: Frames rows of len(Columns) values.
type Features struct {
	// Frames is the number of frames, 1 + n/HopLength for n samples at the
	// analysis rate.
	Frames int
	// Columns names the values of each row, in order.
	Columns []string
	// Data holds Frames*len(Columns) values, row-major (frame by frame).
	Data []float32
	// HopSeconds is the time between frame centres in seconds; frame t is
	// centred on t*HopSeconds.
	HopSeconds float64
	// Tuning is the estimated deviation of the clip from A440 equal
	// temperament, in fractions of a CQT bin (1/36 octave), in [-0.5, 0.5).
	Tuning float64
}

// Row returns the len(Columns) values of frame t (0 <= t < Frames), sharing
// Data's memory.
func (f *Features) Row(t int) []float32 {
	d := len(f.Columns)
	return f.Data[t*d : (t+1)*d]
}

// Extractor computes the recipe's features. It keeps reusable buffers, so it
// is not safe for concurrent use; create one per goroutine.
type Extractor struct {
	cfg     Config
	columns []string

	stft       realFFT
	hann       []float64 // periodic Hann window of FFTSize samples
	frame      []float64 // one windowed STFT frame
	spectrum   []complex128
	power      []float64 // one frame's power spectrum
	magnitude  []float32 // one frame's magnitude spectrum
	tuning     tuningEstimator
	melFilters []melFilter // one triangular filter per mel band
	dct        []float64   // MFCCs x MelBands orthonormal DCT-II matrix

	cqt *constantQ

	// scratch holds per-clip buffers reused across calls.
	scratch struct {
		resampled, zcr, rms, mfcc, cqt, chroma []float32
		mel                                    []float64
	}
}

// NewExtractor validates cfg, applies its defaults and precomputes the
// filterbanks.
func NewExtractor(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	bins := cfg.FFTSize/2 + 1
	e := &Extractor{
		cfg:        cfg,
		columns:    columnNames(cfg.MFCCs),
		stft:       newRealFFT(cfg.FFTSize),
		hann:       periodicHann(cfg.FFTSize),
		frame:      make([]float64, cfg.FFTSize),
		spectrum:   make([]complex128, bins),
		power:      make([]float64, bins),
		magnitude:  make([]float32, bins),
		tuning:     tuningEstimator{sampleRate: cfg.SampleRate, fftSize: cfg.FFTSize},
		melFilters: newMelFilterbank(cfg.SampleRate, cfg.FFTSize, cfg.MelBands, cfg.MelScale),
		dct:        newDCTMatrix(cfg.MFCCs, cfg.MelBands),
		cqt:        newConstantQ(cfg.SampleRate, cfg.Threads),
	}
	return e, nil
}

// Spec returns the description of the features e produces.
func (e *Extractor) Spec() Spec {
	return Spec{
		Name:       SpecName,
		Version:    SpecVersion,
		SampleRate: e.cfg.SampleRate,
		HopLength:  e.cfg.HopLength,
		FFTSize:    e.cfg.FFTSize,
		MelBands:   e.cfg.MelBands,
		MFCCs:      e.cfg.MFCCs,
		MelScale:   e.cfg.MelScale,
		Columns:    append([]string(nil), e.columns...),
	}
}

// chromaNames are the pitch classes of the chroma columns, from C.
var chromaNames = [chromaBins]string{"C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B"}

func columnNames(mfccs int) []string {
	cols := []string{"zcr"}
	for i := 1; i <= mfccs; i++ {
		cols = append(cols, "mfcc_"+strconv.Itoa(i))
	}
	for _, c := range chromaNames {
		cols = append(cols, "chroma_"+c)
	}
	return append(cols, "rms")
}

// ErrNoSamples is returned for an empty waveform.
var ErrNoSamples = errors.New("audio: no samples")

// Extract computes the features of a mono waveform sampled at sampleRate Hz,
// resampling it to the configured rate first when they differ (see
// [Resample]). As in the recipe, two quantities are per clip rather than per
// frame: the MFCCs' 80 dB floor is relative to the clip's loudest mel band,
// and the CQT tuning is estimated from the whole clip; so extract whole
// utterances (the unit of the CH-SIMS clips), not arbitrary slices, to match
// training features. The CQT's Fourier-domain octave halving transforms
// the whole clip at once, so a call needs about 2 MB of transient memory
// per second of audio; split long recordings into utterances first. Empty
// input gives ErrNoSamples; a rate outside wav.MinSampleRate to
// wav.MaxSampleRate (8 to 192 kHz) or a NaN or infinite sample gives an error
// naming it.
func (e *Extractor) Extract(samples []float32, sampleRate int) (*Features, error) {
	f := &Features{}
	if err := e.ExtractTo(f, samples, sampleRate); err != nil {
		return nil, err
	}
	return f, nil
}

// ExtractTo is [Extractor.Extract] writing into dst, reusing the capacity of
// dst.Data.
func (e *Extractor) ExtractTo(dst *Features, samples []float32, sampleRate int) error {
	if len(samples) == 0 {
		return ErrNoSamples
	}
	if sampleRate < wav.MinSampleRate || sampleRate > wav.MaxSampleRate {
		return fmt.Errorf("audio: sample rate %d Hz outside %d to %d Hz", sampleRate, wav.MinSampleRate, wav.MaxSampleRate)
	}
	for i, v := range samples {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("audio: sample %d is %v", i, v)
		}
	}
	y := samples
	if sampleRate != e.cfg.SampleRate {
		var err error
		if e.scratch.resampled, err = Resample(e.scratch.resampled, samples, sampleRate, e.cfg.SampleRate); err != nil {
			return err
		}
		y = e.scratch.resampled
	}
	if e.cfg.FastLength {
		y = y[:fastLength(len(y))]
	}
	hop := e.cfg.HopLength
	frames := 1 + len(y)/hop
	cols := len(e.columns)
	dst.Frames = frames
	dst.Columns = append(dst.Columns[:0], e.columns...)
	dst.HopSeconds = float64(hop) / float64(e.cfg.SampleRate)
	dst.Data = resize(dst.Data, frames*cols)

	sc := &e.scratch
	sc.zcr, sc.rms = resize(sc.zcr, frames), resize(sc.rms, frames)
	zcr, rms := sc.zcr, sc.rms
	ZeroCrossingRate(zcr, y, e.cfg.FFTSize, hop)
	RMS(rms, y, e.cfg.FFTSize, hop)
	// The CQT's octave halving does not depend on the tuning the STFT
	// estimates: with Threads above 1 the two run side by side.
	var halving sync.WaitGroup
	if e.cfg.Threads > 1 {
		halving.Go(func() { e.cqt.halve(y) })
	} else {
		e.cqt.halve(y)
	}
	e.tuning.reset()
	mel := e.melSpectrogram(y, frames, e.tuning.addFrame)
	mfcc := e.mfccFromMel(mel, frames)
	dst.Tuning = e.tuning.estimate(cqtBinsPerOctave)
	halving.Wait()
	sc.cqt = e.cqt.magnitude(sc.cqt, y, hop, dst.Tuning)
	sc.chroma = resize(sc.chroma, frames*chromaBins)
	chroma := sc.chroma
	cqtChroma(chroma, sc.cqt)

	nm := e.cfg.MFCCs
	for t := 0; t < frames; t++ {
		row := dst.Data[t*cols : (t+1)*cols]
		row[0] = zcr[t]
		copy(row[1:1+nm], mfcc[t*nm:(t+1)*nm])
		copy(row[1+nm:1+nm+chromaBins], chroma[t*chromaBins:(t+1)*chromaBins])
		row[cols-1] = rms[t]
	}
	return nil
}
