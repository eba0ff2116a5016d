//go:build cgo && !nopocketsphinx

package asr

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <pocketsphinx.h>
#include <err.h>

static cmd_ln_t *asr_config(int argc, char **argv) {
	return cmd_ln_parse_r(NULL, ps_args(), argc, argv, 1);
}
static int asr_frate(cmd_ln_t *c) { return (int)cmd_ln_int32_r(c, "-frate"); }
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// silenceLog turns PocketSphinx's logging to stderr off, once.
var silenceLog = sync.OnceFunc(func() { C.err_set_logfp(nil) })

// Recognizer decodes speech segments with one PocketSphinx decoder. Not
// safe for concurrent use: use one per stream.
type Recognizer struct {
	ps     *C.ps_decoder_t
	config *C.cmd_ln_t
	frame  time.Duration // one decoder frame (1/frate)
}

// New loads the models of cfg into a decoder.
func New(cfg Config) (*Recognizer, error) {
	files, err := cfg.files()
	if err != nil {
		return nil, err
	}
	silenceLog()
	args := []string{"pocketsphinx", "-hmm", files.hmm, "-lm", files.lm, "-dict", files.dict, "-samprate", "16000"}
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	// argv is a Go slice of C pointers: passing its first element's
	// address is allowed (the pointed-to strings live in C memory).
	config := C.asr_config(C.int(len(argv)), &argv[0])
	if config == nil {
		return nil, fmt.Errorf("asr: pocketsphinx rejected its arguments %q", strings.Join(args[1:], " "))
	}
	ps := C.ps_init(config)
	if ps == nil {
		C.cmd_ln_free_r(config)
		return nil, fmt.Errorf("asr: pocketsphinx could not load the models in %s", files.hmm)
	}
	frate := int(C.asr_frate(config))
	if frate <= 0 {
		frate = 100
	}
	return &Recognizer{ps: ps, config: config, frame: time.Second / time.Duration(frate)}, nil
}

// Recognize decodes one speech segment of 16 kHz mono 16-bit PCM as one
// utterance.
func (r *Recognizer) Recognize(pcm []int16) (Result, error) {
	if r.ps == nil {
		return Result{}, fmt.Errorf("asr: recognizer closed")
	}
	if C.ps_start_utt(r.ps) < 0 {
		return Result{}, fmt.Errorf("asr: pocketsphinx could not start an utterance")
	}
	if len(pcm) > 0 {
		// The decoder reads the samples during the call only.
		if C.ps_process_raw(r.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 1) < 0 {
			C.ps_end_utt(r.ps)
			return Result{}, fmt.Errorf("asr: pocketsphinx could not process %d samples", len(pcm))
		}
	}
	if C.ps_end_utt(r.ps) < 0 {
		return Result{}, fmt.Errorf("asr: pocketsphinx could not end the utterance")
	}
	var res Result
	var score C.int32
	if hyp := C.ps_get_hyp(r.ps, &score); hyp == nil {
		return res, nil
	}
	var words []string
	for seg := C.ps_seg_iter(r.ps); seg != nil; seg = C.ps_seg_next(seg) {
		// ps_seg_next frees the iterator at its end; a loop that stops
		// early would call ps_seg_free.
		w, ok := wordOf(C.GoString(C.ps_seg_word(seg)))
		if !ok {
			continue
		}
		var sf, ef C.int
		C.ps_seg_frames(seg, &sf, &ef)
		res.Words = append(res.Words, Word{Text: w, Start: time.Duration(sf) * r.frame, End: time.Duration(ef+1) * r.frame})
		words = append(words, w)
	}
	res.Text = strings.Join(words, " ")
	return res, nil
}

// Close releases the decoder and its configuration; it is safe to call
// more than once.
func (r *Recognizer) Close() error {
	if r.ps != nil {
		C.ps_free(r.ps)
		r.ps = nil
	}
	if r.config != nil {
		C.cmd_ln_free_r(r.config)
		r.config = nil
	}
	return nil
}
