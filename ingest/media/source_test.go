package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ffmpegBin returns the ffmpeg binary, failing the test if it is missing.
func ffmpegBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found on PATH: run `make setup` to install it")
	}
	return bin
}

// ffmpeg runs ffmpeg with args, failing the test if it fails.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(ffmpegBin(t), append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// wavFile writes a WAV file with the given format tag, rate, channels, bits
// and interleaved little-endian sample bytes, with a LIST chunk before the
// data as many encoders write.
func wavFile(t testing.TB, tag uint16, rate, channels, bits int, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	le := func(v any) {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	list := []byte("INFOISFT\x05\x00\x00\x00test\x00\x00") // 5-byte string, padded
	b.WriteString("RIFF")
	le(uint32(4 + 8 + 16 + 8 + len(list) + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(tag)
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	b.WriteString("LIST")
	le(uint32(len(list)))
	b.Write(list)
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	path := filepath.Join(t.TempDir(), "audio.wav")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads every chunk of s, checking offsets and start times.
func readAll(t *testing.T, s *Source) []float32 {
	t.Helper()
	var all []float32
	for {
		c, err := s.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Offset != int64(len(all)) || c.Start != time.Duration(c.Offset)*time.Second/time.Duration(c.SampleRate) {
			t.Fatalf("chunk at frame %d (start %v) after %d frames", c.Offset, c.Start, len(all))
		}
		all = append(all, c.Samples...)
	}
}

func TestWAVDirect(t *testing.T) {
	const n = 1000
	pcm16 := make([]byte, 2*n)
	stereoFloat := make([]byte, 8*n)
	pcm24 := make([]byte, 3*n)
	pcm8 := make([]byte, n)
	want := make([]float32, n)
	for i := range n {
		v := int16(i*61 - 30000)
		want[i] = float32(v) / 32768
		binary.LittleEndian.PutUint16(pcm16[2*i:], uint16(v))
		// Stereo: left v+d, right v-d average to v.
		binary.LittleEndian.PutUint32(stereoFloat[8*i:], math.Float32bits(want[i]+0.25))
		binary.LittleEndian.PutUint32(stereoFloat[8*i+4:], math.Float32bits(want[i]-0.25))
		pcm24[3*i], pcm24[3*i+1], pcm24[3*i+2] = 0, byte(v), byte(v>>8)
		pcm8[i] = byte(int(v>>8) + 128)
	}
	for _, tc := range []struct {
		name                 string
		tag                  uint16
		channels, bits       int
		data                 []byte
		tolerance            float64
		want8bit             bool
		chunkFrames, nChunks int
	}{
		{"pcm16 mono", tagPCM, 1, 16, pcm16, 0, false, 300, 4},
		{"float32 stereo", tagFloat, 2, 32, stereoFloat, 1e-7, false, 0, 1},
		{"pcm24 mono", tagPCM, 1, 24, pcm24, 0, false, 1000, 1},
		{"pcm8 mono", tagPCM, 1, 8, pcm8, 0, true, 999, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(Config{Path: wavFile(t, tc.tag, 16000, tc.channels, tc.bits, tc.data), ChunkFrames: tc.chunkFrames})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.Direct() {
				t.Fatal("a 16 kHz WAV file went through ffmpeg")
			}
			got := readAll(t, s)
			if len(got) != n {
				t.Fatalf("read %d frames, want %d", len(got), n)
			}
			for i := range got {
				w := float64(want[i])
				if tc.want8bit {
					w = float64(int(int16(i*61-30000)>>8)) / 128
				}
				if math.Abs(float64(got[i])-w) > tc.tolerance {
					t.Fatalf("frame %d = %g, want %g", i, got[i], w)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sine returns n frames of a 440 Hz sine at half scale and rate Hz.
func sine(n, rate int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
	}
	return out
}

// TestWAVResampledByFFmpeg reads an 8 kHz WAV at 16 kHz: ffmpeg resamples,
// and the sine must come out at the same frequency and level.
func TestWAVResampledByFFmpeg(t *testing.T) {
	in := sine(8000, 8000)
	data := make([]byte, 2*len(in))
	for i, v := range in {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(math.Round(v*32767))))
	}
	s, err := Open(Config{Path: wavFile(t, tagPCM, 8000, 1, 16, data)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Direct() {
		t.Fatal("an 8 kHz WAV file was decoded directly for 16 kHz output")
	}
	got := readAll(t, s)
	if len(got) < 15900 || len(got) > 16100 {
		t.Fatalf("read %d frames, want about 16000", len(got))
	}
	want := sine(len(got), 16000)
	// ffmpeg's resampler (swr, default filter) is accurate to well under
	// 1% of full scale for a 440 Hz tone away from the edges.
	for i := 200; i < len(got)-200; i++ {
		if math.Abs(float64(got[i])-want[i]) > 0.01 {
			t.Fatalf("frame %d = %g, want %g", i, got[i], want[i])
		}
	}
}

// TestVideoAudioTrack reads the AAC audio track of an MP4 video.
func TestVideoAudioTrack(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "2", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)
	s, err := Open(Config{Path: clip, ChunkFrames: 1600})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	// AAC adds priming and padding frames: about 2 s, give or take 0.1 s.
	if len(got) < 30400 || len(got) > 33600 {
		t.Fatalf("read %d frames, want about 32000", len(got))
	}
	// 440 Hz crosses zero upwards 440 times a second.
	crossings := 0
	for i := 1; i < len(got); i++ {
		if got[i-1] < 0 && got[i] >= 0 {
			crossings++
		}
	}
	if want := 440 * len(got) / 16000; crossings < want-5 || crossings > want+5 {
		t.Fatalf("%d upward zero crossings, want about %d for 440 Hz", crossings, want)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	noAudio := filepath.Join(dir, "silent.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-t", "1", "-pix_fmt", "yuv420p", noAudio)
	garbage := filepath.Join(dir, "garbage.mp3")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte{0x42}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no path", Config{}, "Path is required"},
		{"bad rate", Config{Path: "x.wav", SampleRate: -1}, "SampleRate"},
		{"bad chunk", Config{Path: "x.wav", ChunkFrames: -1}, "ChunkFrames"},
		{"missing file", Config{Path: filepath.Join(dir, "missing.wav")}, "missing.wav"},
		{"no audio track", Config{Path: noAudio}, "no audio stream: " + noAudio},
		{"not media", Config{Path: garbage}, "cannot decode"},
		{"no ffmpeg", Config{Path: noAudio, FFmpeg: filepath.Join(dir, "no-ffmpeg")}, "make setup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.cfg)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "media: ") {
				t.Fatalf("Open() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// fakeClock is an injected clock whose Sleep advances time at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

// TestRealtime paces 1 s of audio in 20 ms chunks (the default) on a fake clock: each
// chunk waits until its end, and a cancelled wait keeps the chunk.
func TestRealtime(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s, err := Open(Config{Path: wavFile(t, tagPCM, 16000, 1, 16, make([]byte, 2*16000)), Realtime: true, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read(cancelled) = %v", err)
	}
	got := readAll(t, s)
	if len(got) != 16000 || len(clock.sleeps) != 50 {
		t.Fatalf("%d frames, %d waits; want 16000 frames in 50 waits", len(got), len(clock.sleeps))
	}
	for _, d := range clock.sleeps {
		if d != 20*time.Millisecond {
			t.Fatalf("waits %v, want 20ms each", clock.sleeps)
		}
	}
	// Reading late (the clock moved on) does not wait.
	clock.now = clock.now.Add(time.Hour)
	if _, err := s.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read() at the end = %v, want io.EOF", err)
	}
}

// TestRealtimeEpoch paces from an epoch 0.5 s in the past: the chunks of
// the first half second are due at once, the rest wait as usual.
func TestRealtimeEpoch(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s, err := Open(Config{Path: wavFile(t, tagPCM, 16000, 1, 16, make([]byte, 2*16000)), Realtime: true,
		Epoch: clock.now.Add(-500 * time.Millisecond), Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readAll(t, s); len(got) != 16000 || len(clock.sleeps) != 25 {
		t.Fatalf("%d frames, %d waits; want 16000 frames in 25 waits (the second half second)", len(got), len(clock.sleeps))
	}
}

// TestCloseEarly stops ffmpeg in the middle of a file.
func TestCloseEarly(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "long.wav")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "30", clip)
	s, err := Open(Config{Path: clip})
	if err != nil {
		t.Fatal(err)
	}
	if s.Direct() {
		t.Fatal("a 44.1 kHz WAV was decoded directly for 16 kHz output")
	}
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() in the middle = %v", err)
	}
}

func BenchmarkWAVDecode(b *testing.B) {
	data := make([]byte, 2*16000*10) // 10 s of 16-bit mono
	path := wavFile(b, tagPCM, 16000, 1, 16, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s, err := Open(Config{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := s.Read(context.Background()); err != nil {
				break
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWAVOpenEnded reads a WAV file whose data size says "unknown" (as
// ffmpeg writes to a pipe) and that ends inside a frame: every whole frame
// is read.
func TestWAVOpenEnded(t *testing.T) {
	path := wavFile(t, tagPCM, 16000, 2, 16, make([]byte, 4*500+3))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(data[len(data)-(4*500+3)-4:], sizeUnknown)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Config{Path: path, ChunkFrames: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readAll(t, s); len(got) != 500 || !s.Direct() {
		t.Fatalf("read %d frames (direct %v), want 500 directly", len(got), s.Direct())
	}
}

// TestStereoChannels reads a stereo PCM16 WAV file with Channels 2: ffmpeg
// decodes it (not the direct reader, which averages), and each chunk holds
// whole frames with the two channels interleaved as written, at 1/32768
// per step of 16-bit PCM, exactly.
func TestStereoChannels(t *testing.T) {
	const n = 1000
	data := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint16(data[4*i:], uint16(int16(i*29-15000)))
		binary.LittleEndian.PutUint16(data[4*i+2:], uint16(int16(7000-i*13)))
	}
	path := wavFile(t, tagPCM, 16000, 2, 16, data)
	s, err := Open(Config{Path: path, SampleRate: 16000, ChunkFrames: 300, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Direct() {
		t.Error("Direct() with Channels 2; want ffmpeg, which keeps the channels")
	}
	var frames int64
	for {
		c, err := s.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Channels != 2 || len(c.Samples)%2 != 0 || c.Offset != frames {
			t.Fatalf("chunk at frame %d: %d channels, %d samples; want 2 channels of whole frames at frame %d", c.Offset, c.Channels, len(c.Samples), frames)
		}
		if want := time.Duration(len(c.Samples)/2) * time.Second / 16000; c.Duration() != want {
			t.Errorf("chunk at frame %d lasts %v, want %v", c.Offset, c.Duration(), want)
		}
		for j := 0; j < len(c.Samples); j += 2 {
			i := int(c.Offset) + j/2
			l, r := float32(int16(i*29-15000))/32768, float32(int16(7000-i*13))/32768
			if c.Samples[j] != l || c.Samples[j+1] != r {
				t.Fatalf("frame %d: %v %v, want %v %v", i, c.Samples[j], c.Samples[j+1], l, r)
			}
		}
		frames += int64(len(c.Samples) / 2)
	}
	if frames != n {
		t.Errorf("%d frames, want %d", frames, n)
	}
	// A mono file is channel 0, at its level (not ffmpeg's -3 dB upmix),
	// and channel 1 is silence.
	mono := wavFile(t, tagPCM, 16000, 1, 16, data[:2*n])
	m, err := Open(Config{Path: mono, SampleRate: 16000, ChunkFrames: n, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := m.Read(context.Background())
	if err != nil || len(c.Samples) != 2*n {
		t.Fatalf("mono file: %d samples, %v; want %d frames of 2 channels", len(c.Samples), err, n)
	}
	for j := 0; j < len(c.Samples); j += 2 {
		if want := float32(int16(binary.LittleEndian.Uint16(data[j:]))) / 32768; c.Samples[j] != want || c.Samples[j+1] != 0 {
			t.Fatalf("mono file, frame %d: %v %v, want %v 0", j/2, c.Samples[j], c.Samples[j+1], want)
		}
	}
	if _, err := Open(Config{Path: path, Channels: 3}); err == nil || !strings.Contains(err.Error(), "Channels 3") {
		t.Errorf("Open with Channels 3: %v, want an error naming Channels", err)
	}
}
