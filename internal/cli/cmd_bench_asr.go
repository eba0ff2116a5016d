package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cmc-stream/cmc-stream/features/asr"
	"github.com/cmc-stream/cmc-stream/features/vad"
	"github.com/cmc-stream/cmc-stream/internal/cputime"
	"github.com/cmc-stream/cmc-stream/internal/envconfig"
	"github.com/cmc-stream/cmc-stream/internal/wav"
)

func init() {
	benchTargets["asr"] = benchASR
}

// Demo clips' transcripts, relative to the project folder.
const demoClipTranscripts = "demo/transcripts.jsonl"

// asrBenchSet is the recognition of one set of recordings.
type asrBenchSet struct {
	Name string `json:"name"`
	// Files and Words count the recordings and the reference words.
	Files int `json:"files"`
	Words int `json:"words"`
	// Segments counts the speech segments the endpointer found.
	Segments int `json:"segments"`
	// Edits is the word-level Levenshtein distance summed over the files;
	// WER = Edits / Words.
	Edits int     `json:"edits"`
	WER   float64 `json:"wer"`
	// AudioS is the audio's length and BusyS the time spent in voice
	// activity and recognition, in seconds; RTF = BusyS / AudioS.
	AudioS float64 `json:"audio_s"`
	BusyS  float64 `json:"busy_s"`
	RTF    float64 `json:"rtf"`
	// CPURTF is the process's CPU time over AudioS: the real-time factor
	// on an idle core, whatever else shares the machine (0 where CPU time
	// cannot be read).
	CPURTF float64 `json:"cpu_rtf"`
}

// asrBenchStreams is the real-time factor of n streams recognised at once.
type asrBenchStreams struct {
	Streams int `json:"streams"`
	// RTFMean and RTFMax are over the streams: wall time to recognise a
	// stream's audio over the audio's length.
	RTFMean float64 `json:"rtf_mean"`
	RTFMax  float64 `json:"rtf_max"`
}

// asrBenchResult is the --json output of bench asr.
type asrBenchResult struct {
	Sets    []asrBenchSet     `json:"sets"`
	Streams []asrBenchStreams `json:"streams"`
}

// benchASR measures speech recognition as the pipeline runs it (Silero VAD
// endpointing with the asr defaults, then PocketSphinx on each segment):
// the word error rate on the demo clips and on the showcase against their
// transcripts, and the real-time factor of 1..n streams at once (each
// stream plays the showcase).
func benchASR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench asr", stderr)
	streams := fs.String("streams", "1,2", "comma-separated numbers of streams recognised at once (each plays the showcase)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	var counts []int
	for _, f := range strings.Split(*streams, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("%w: --streams: %q is not a positive number", errUsage, f)
		}
		counts = append(counts, n)
	}
	paths, stop, err := native{onnx: true}.start(envconfig.Native{}, stderr)
	if err != nil {
		return err
	}
	defer stop()
	vadModel := filepath.Join(paths.AssetsDir, vad.ModelFile)
	clipsFile, ok := envconfig.ProjectFile(demoClipTranscripts)
	showFile, ok2 := envconfig.ProjectFile(demoTranscript)
	if !ok || !ok2 {
		return fmt.Errorf("bench asr: %s or %s not found: run it from the cmc-stream folder", demoClipTranscripts, demoTranscript)
	}
	clips, err := readASRReferences(clipsFile)
	if err != nil {
		return err
	}
	show, err := readASRReferences(showFile)
	if err != nil {
		return err
	}
	media := filepath.Join(filepath.Dir(clipsFile), "media")
	var res asrBenchResult
	for _, set := range []struct {
		name string
		refs []asrReference
	}{{"demo clips", clips}, {"showcase", show}} {
		s, err := recogniseSet(ctx, set.name, media, set.refs, vadModel)
		if err != nil {
			return err
		}
		res.Sets = append(res.Sets, s)
	}
	showAudio, err := readWAVFile(filepath.Join(media, show[0].clip+".wav"))
	if err != nil {
		return err
	}
	for _, n := range counts {
		r, err := asrStreams(ctx, n, showAudio, vadModel)
		if err != nil {
			return err
		}
		res.Streams = append(res.Streams, r)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "# %s/%s, %d CPUs, Go %s; PocketSphinx en-us (Debian 0.8+5prealpha+1-15), Silero VAD v5 endpointing (asr defaults)\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	for _, s := range res.Sets {
		fmt.Fprintf(stdout, "%-10s %3d files %4d words %3d segments  WER %.3f (%d edits)  audio %6.1f s  RTF %.3f (CPU time %.3f)\n",
			s.Name, s.Files, s.Words, s.Segments, s.WER, s.Edits, s.AudioS, s.RTF, s.CPURTF)
	}
	for _, s := range res.Streams {
		fmt.Fprintf(stdout, "%d stream(s) at once (showcase each): RTF per stream mean %.3f, max %.3f\n", s.Streams, s.RTFMean, s.RTFMax)
	}
	return nil
}

// asrReference is the reference text of one recording.
type asrReference struct {
	clip string
	text string
}

// readASRReferences reads a transcript file of the demo ({"clip_id",
// "text", ...} per line) and joins the lines of each clip in order.
func readASRReferences(path string) ([]asrReference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var refs []asrReference
	at := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var l struct {
			Clip string `json:"clip_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if i, ok := at[l.Clip]; ok {
			refs[i].text += " " + l.Text
			continue
		}
		at[l.Clip] = len(refs)
		refs = append(refs, asrReference{clip: l.Clip, text: l.Text})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s: no transcripts", path)
	}
	return refs, nil
}

// asrRecognizer is one stream's endpointer and recogniser.
type asrRecognizer struct {
	det *vad.Detector
	rec *asr.Recognizer
}

func newASRRecognizer(vadModel string) (*asrRecognizer, error) {
	det, err := vad.Open(vadModel)
	if err != nil {
		return nil, err
	}
	rec, err := asr.New(asr.Config{ModelDir: envconfig.PocketSphinxModelDir("")})
	if err != nil {
		_ = det.Close()
		return nil, err
	}
	return &asrRecognizer{det: det, rec: rec}, nil
}

func (r *asrRecognizer) close() {
	_ = r.det.Close()
	_ = r.rec.Close()
}

// transcribe endpoints x (16 kHz) in 20 ms chunks, as the live sources
// deliver it, recognises each segment and returns the texts joined and
// the number of segments.
func (r *asrRecognizer) transcribe(ctx context.Context, x []float32) (string, int, error) {
	r.det.Reset()
	ep, err := vad.NewEndpointer(r.det, vad.EndpointConfig{})
	if err != nil {
		return "", 0, err
	}
	var texts []string
	n := 0
	recognise := func(speech []vad.Speech) error {
		for _, s := range speech {
			res, err := r.rec.Recognize(asr.ToPCM16(s.Samples))
			if err != nil {
				return err
			}
			n++
			if res.Text != "" {
				texts = append(texts, res.Text)
			}
		}
		return nil
	}
	const chunk = vad.SampleRate / 50
	for i := 0; i < len(x); i += chunk {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		speech, err := ep.Write(time.Duration(i)*time.Second/vad.SampleRate, x[i:min(i+chunk, len(x))])
		if err != nil {
			return "", 0, err
		}
		if err := recognise(speech); err != nil {
			return "", 0, err
		}
	}
	if err := recognise(ep.Flush()); err != nil {
		return "", 0, err
	}
	return strings.Join(texts, " "), n, nil
}

// recogniseSet recognises every recording of refs (media/<clip>.wav) and
// scores it against its reference.
func recogniseSet(ctx context.Context, name, media string, refs []asrReference, vadModel string) (asrBenchSet, error) {
	r, err := newASRRecognizer(vadModel)
	if err != nil {
		return asrBenchSet{}, err
	}
	defer r.close()
	s := asrBenchSet{Name: name, Files: len(refs)}
	cpu0 := cputime.Seconds()
	for _, ref := range refs {
		x, err := readWAVFile(filepath.Join(media, ref.clip+".wav"))
		if err != nil {
			return s, err
		}
		t0 := time.Now()
		hyp, n, err := r.transcribe(ctx, x)
		if err != nil {
			return s, fmt.Errorf("bench asr: %s: %w", ref.clip, err)
		}
		s.BusyS += time.Since(t0).Seconds()
		s.AudioS += float64(len(x)) / vad.SampleRate
		s.Segments += n
		words := asr.Words(ref.text)
		s.Words += len(words)
		s.Edits += asr.EditDistance(words, asr.Words(hyp))
	}
	s.WER = float64(s.Edits) / float64(max(s.Words, 1))
	s.RTF = s.BusyS / s.AudioS
	s.CPURTF = (cputime.Seconds() - cpu0) / s.AudioS // 0 where the process's CPU time is not read
	return s, nil
}

// asrStreams recognises x on n streams at once, each with its own
// endpointer and recogniser, and returns their real-time factors.
func asrStreams(ctx context.Context, n int, x []float32, vadModel string) (asrBenchStreams, error) {
	recs := make([]*asrRecognizer, n)
	for i := range recs {
		r, err := newASRRecognizer(vadModel)
		if err != nil {
			for _, o := range recs[:i] {
				o.close()
			}
			return asrBenchStreams{}, err
		}
		recs[i] = r
	}
	defer func() {
		for _, r := range recs {
			r.close()
		}
	}()
	rtf := make([]float64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range recs {
		wg.Go(func() {
			t0 := time.Now()
			_, _, errs[i] = r.transcribe(ctx, x)
			rtf[i] = time.Since(t0).Seconds() / (float64(len(x)) / vad.SampleRate)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return asrBenchStreams{}, err
	}
	res := asrBenchStreams{Streams: n}
	for _, v := range rtf {
		res.RTFMean += v / float64(n)
		res.RTFMax = max(res.RTFMax, v)
	}
	return res, nil
}

// readWAVFile reads a 16 kHz WAV file's samples, its channels averaged.
func readWAVFile(path string) ([]float32, error) {
	x, f, err := wav.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if f.SampleRate != vad.SampleRate {
		return nil, fmt.Errorf("%s: %d Hz, want %d", path, f.SampleRate, vad.SampleRate)
	}
	return x, nil
}
