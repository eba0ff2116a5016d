package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/ingest/media"
)

// Clip is what one stream plays: a video file, its audio as a file the
// audio source reads (a WAV at 16 kHz is decoded without ffmpeg), and its
// transcript.
type Clip struct {
	// Video is the video file.
	Video string
	// Audio is the audio file.
	Audio string
	// Utterances are the transcript, in order of their end.
	Utterances []Utterance
	// Length is the duration of the audio.
	Length time.Duration
}

// Utterance is one transcript line: seconds from the clip's start, and the
// text. ClipID, when set, names the clip (the video's base name without
// extension) the line belongs to, so one file can hold many clips'
// transcripts.
type Utterance struct {
	ClipID string  `json:"clip_id,omitempty"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Text   string  `json:"text"`
}

// LoadClip reads the transcript JSONL file of a video and its audio and
// measures the audio's length. Lines whose clip_id names another clip are
// skipped.
func LoadClip(ctx context.Context, video, audio, transcript string) (Clip, error) {
	c := Clip{Video: video, Audio: audio}
	if _, err := os.Stat(video); err != nil {
		return Clip{}, fmt.Errorf("loadgen: %w", err)
	}
	id := strings.TrimSuffix(filepath.Base(video), filepath.Ext(video))
	f, err := os.Open(transcript)
	if err != nil {
		return Clip{}, fmt.Errorf("loadgen: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var u Utterance
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			return Clip{}, fmt.Errorf("loadgen: %s:%d: %w", transcript, n, err)
		}
		if u.ClipID != "" && u.ClipID != id {
			continue
		}
		if u.End < u.Start || u.Start < 0 {
			return Clip{}, fmt.Errorf("loadgen: %s:%d: utterance from %g s to %g s", transcript, n, u.Start, u.End)
		}
		c.Utterances = append(c.Utterances, u)
	}
	if err := sc.Err(); err != nil {
		return Clip{}, fmt.Errorf("loadgen: %s: %w", transcript, err)
	}
	if len(c.Utterances) == 0 {
		return Clip{}, fmt.Errorf("loadgen: %s: no utterances of clip %q", transcript, id)
	}
	c.Length, err = audioLength(ctx, audio)
	if err != nil {
		return Clip{}, err
	}
	return c, nil
}

// audioLength decodes path and returns its duration.
func audioLength(ctx context.Context, path string) (time.Duration, error) {
	src, err := media.Open(media.Config{Path: path})
	if err != nil {
		return 0, fmt.Errorf("loadgen: %w", err)
	}
	defer func() { _ = src.Close() }() // a decoder that only read
	var length time.Duration
	for {
		c, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			return length, nil
		}
		if err != nil {
			return 0, fmt.Errorf("loadgen: %s: %w", path, err)
		}
		length = c.Start + time.Duration(len(c.Samples))*time.Second/time.Duration(c.SampleRate)
	}
}

// Loop writes the clip played times times in a row into dir (ffmpeg stream
// copy, no re-encoding) and returns it, its utterances repeated with
// c.Length as period.
func (c Clip) Loop(ctx context.Context, times int, dir string) (Clip, error) {
	if times < 1 {
		return Clip{}, fmt.Errorf("loadgen: loop %d times", times)
	}
	out := Clip{Length: time.Duration(times) * c.Length,
		Video: filepath.Join(dir, "loop"+filepath.Ext(c.Video)), Audio: filepath.Join(dir, "loop"+filepath.Ext(c.Audio))}
	for _, f := range [][2]string{{c.Video, out.Video}, {c.Audio, out.Audio}} {
		cmd := exec.CommandContext(ctx, media.DefaultFFmpeg, "-nostdin", "-v", "error", "-y",
			"-stream_loop", strconv.Itoa(times-1), "-i", f[0], "-c", "copy", f[1])
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Clip{}, fmt.Errorf("loadgen: looping %s: %w: %s", f[0], err, strings.TrimSpace(string(msg)))
		}
	}
	period := c.Length.Seconds()
	for k := range times {
		for _, u := range c.Utterances {
			u.Start += float64(k) * period
			u.End += float64(k) * period
			out.Utterances = append(out.Utterances, u)
		}
	}
	return out, nil
}

// Cut writes the part of the clip from offset on, length long, into dir
// under name (re-encoded so that it starts and ends at the exact frame and
// sample: the video with libx264, the audio as 16-bit PCM) and returns it, with the utterances that
// lie wholly inside the part (see endWithin), shifted by -offset. The clip must last at
// least offset+length.
func (c Clip) Cut(ctx context.Context, offset, length time.Duration, dir, name string) (Clip, error) {
	if offset < 0 || length <= 0 || offset+length > c.Length {
		return Clip{}, fmt.Errorf("loadgen: cut %v from %v of a %v clip", length, offset, c.Length)
	}
	out := Clip{Length: length,
		Video: filepath.Join(dir, name+filepath.Ext(c.Video)), Audio: filepath.Join(dir, name+filepath.Ext(c.Audio))}
	from, dur := strconv.FormatFloat(offset.Seconds(), 'f', 6, 64), strconv.FormatFloat(length.Seconds(), 'f', 6, 64)
	for _, args := range [][]string{
		{"-ss", from, "-i", c.Video, "-t", dur, "-an", "-c:v", "libx264", "-preset", "ultrafast", out.Video},
		{"-ss", from, "-i", c.Audio, "-t", dur, "-vn", "-c:a", "pcm_s16le", out.Audio},
	} {
		cmd := exec.CommandContext(ctx, media.DefaultFFmpeg, append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Clip{}, fmt.Errorf("loadgen: cutting %s: %w: %s", args[3], err, strings.TrimSpace(string(msg)))
		}
	}
	shift := offset.Seconds()
	for _, u := range c.Utterances {
		u.Start -= shift
		u.End -= shift
		if u.Start >= 0 {
			out.Utterances = append(out.Utterances, u)
		}
	}
	// The cut's audio ends at a whole sample, within one of length.
	got, err := audioLength(ctx, out.Audio)
	if err != nil {
		return Clip{}, err
	}
	out.Utterances = endWithin(out.Utterances, length, min(got, length))
	return out, nil
}
