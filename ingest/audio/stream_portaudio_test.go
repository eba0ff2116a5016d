//go:build cgo && !noportaudio

package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests read real samples through PortAudio: TestMain points HOME at a
// temporary directory whose .asoundrc makes ALSA's default capture device
// the file plugin over a raw S16_LE file (see dependencies.md), converted
// to float32 by ALSA's plug layer and PortAudio.
//
// The file plugin sits on the null plugin, which has no clock: PortAudio
// reads as fast as it can, past the end of the file the plugin repeats its
// last buffer, and now and then ALSA overruns and PortAudio recovers by
// skipping a stretch of the file (without reporting an overflow). So the
// input file holds a ramp whose every value is distinct: each captured
// sample tells its position in the file, and the tests check that every
// sample is exactly a sample of the file, that the samples run in file order,
// and that runs are long (skips are rare).

const (
	testRate = 16000
	// testFrames is the length of the input file: the ramp -15000..14999.
	testFrames = 30000
	// noDeviceEnv tells the test binary to start PortAudio without the
	// .asoundrc, as on a machine without a sound card.
	noDeviceEnv = "CMC_AUDIO_TEST_NO_DEVICE"
)

// inputFile is the raw file the ALSA file plugin reads; written by TestMain.
var inputFile string

// testSignal returns frame i of the input file.
func testSignal(i int) int16 { return int16(i - testFrames/2) }

// filePos returns the position in the input file of the captured sample v,
// or an error if v is not exactly one of its samples. PortAudio and ALSA
// convert 16-bit samples to float32 by dividing by 32768, which is exact.
func filePos(v float32) (int, error) {
	x := float64(v) * 32768
	pos := int(math.Round(x)) + testFrames/2
	if math.Abs(x-math.Round(x)) > 1e-3 || pos < 0 || pos >= testFrames {
		return 0, fmt.Errorf("sample %g (%g/32768) is not a sample of the input file", v, x)
	}
	return pos, nil
}

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// runTests sets up ALSA and PortAudio once for the process, runs the tests
// and terminates PortAudio.
func runTests(m *testing.M) (int, error) {
	home, err := os.MkdirTemp("", "cmc-audio-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(home)
	if os.Getenv(noDeviceEnv) == "" {
		if err := writeALSAConfig(home); err != nil {
			return 0, err
		}
	}
	// ALSA reads $HOME/.asoundrc when PortAudio initialises.
	if err := os.Setenv("HOME", home); err != nil {
		return 0, err
	}
	if err := Init(); err != nil {
		return 0, err
	}
	code := m.Run()
	return code, Terminate()
}

// writeALSAConfig writes the input file and an .asoundrc into home.
func writeALSAConfig(home string) error {
	inputFile = filepath.Join(home, "input.raw")
	raw := make([]byte, 2*testFrames)
	for i := range testFrames {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(testSignal(i)))
	}
	if err := os.WriteFile(inputFile, raw, 0o644); err != nil {
		return err
	}
	asoundrc := fmt.Sprintf(`pcm.!default {
	type plug
	slave { pcm "cmcfile"; format S16_LE; rate %d; channels 1 }
}
pcm.cmcfile {
	type file
	slave.pcm "null"
	file "/dev/null"
	infile %q
	format "raw"
}
`, testRate, inputFile)
	return os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(asoundrc), 0o644)
}

// checkChunk checks a chunk's time stamp and that its samples are the input
// file's, in order. It returns the file position of the chunk's last sample
// and the number of skips inside the chunk.
func checkChunk(t *testing.T, c Chunk) (last, skips int) {
	t.Helper()
	if c.Start != time.Duration(c.Offset)*time.Second/testRate || c.Channels != 1 || c.SampleRate != testRate {
		t.Fatalf("chunk at frame %d: start %v, %d channels at %g Hz", c.Offset, c.Start, c.Channels, c.SampleRate)
	}
	prev := -1
	for i, v := range c.Samples {
		pos, err := filePos(v)
		if err != nil {
			t.Fatalf("frame %d: %v", c.Offset+int64(i), err)
		}
		if prev >= 0 && pos != prev+1 {
			skips++
		}
		prev = pos
	}
	return prev, skips
}

// TestReadMatchesFile reads the input file through PortAudio with a ring
// large enough that nothing is dropped: the first sample is the file's first,
// every sample is the file's, and file order is kept with rare skips.
func TestReadMatchesFile(t *testing.T) {
	const chunk = 1000
	s, err := Open(Config{ChunkFrames: chunk, BufferFrames: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var frames, skips int
	for want := int64(0); ; want += chunk {
		c, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Offset != want || c.Frames() != chunk || c.Duration() != chunk*time.Second/testRate {
			t.Fatalf("chunk at frame %d with %d frames (%v), want frame %d, %d frames", c.Offset, c.Frames(), c.Duration(), want, chunk)
		}
		if want == 0 && c.Samples[0] != float32(testSignal(0))/32768 {
			t.Fatalf("first sample %g, want the file's first, %d/32768", c.Samples[0], testSignal(0))
		}
		last, n := checkChunk(t, c)
		frames, skips = frames+chunk, skips+n
		if last >= testFrames-4096 { // near the end, where the plugin repeats
			break
		}
	}
	if frames < testFrames/4 || skips > frames/256 {
		t.Fatalf("%d frames with %d skips: want a long, mostly contiguous read", frames, skips)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if st := s.Stats(); st.Frames < int64(frames) || st.Dropped != 0 {
		t.Fatalf("Stats() = %+v after reading %d frames, want no drops", st, frames)
	}
}

// TestReadDropsOldest reads with a small ring while the unpaced file plugin
// outruns the reader, so the oldest frames are overwritten: offsets only
// grow, the gaps between chunks add up to the dropped count, and every
// sample is still one of the file's.
func TestReadDropsOldest(t *testing.T) {
	const chunk = 512
	s, err := Open(Config{ChunkFrames: chunk, BufferFrames: 4 * chunk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var next, gaps int64
	for range 200 {
		c, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Offset < next {
			t.Fatalf("chunk at frame %d overlaps the previous one ending at %d", c.Offset, next)
		}
		gaps += c.Offset - next
		next = c.Offset + chunk
		checkChunk(t, c)
	}
	// Only Read moves past dropped frames, so the count is exact here.
	if st := s.Stats(); gaps == 0 || st.Dropped != gaps {
		t.Fatalf("skipped %d frames between chunks, Stats() = %+v: want them all counted as dropped", gaps, st)
	}
}

func TestReadAfterClose(t *testing.T) {
	s, err := Open(Config{ChunkFrames: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := s.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read() after Close = %v, want chunks then io.EOF", err)
		}
	}
}

func TestDevices(t *testing.T) {
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	var def *Device
	for i, d := range devs {
		if d.MaxInputChannels < 1 || d.HostAPI == "" {
			t.Errorf("device %+v has no input channels or host API", d)
		}
		if d.Default {
			def = &devs[i]
		}
	}
	if def == nil || def.Name != "default" {
		t.Fatalf("ListDevices() = %+v, want ALSA's default device as the default", devs)
	}
	// By exact name; an unknown name fails with ErrNoDevice.
	s, err := Open(Config{Device: "default", ChunkFrames: 160})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Device: "no such microphone"})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "no such microphone") {
		t.Fatalf("Open(unknown name) = %v, want ErrNoDevice naming it", err)
	}
}

// TestNoDevice runs the test binary again without the .asoundrc: on a
// machine without a sound card PortAudio sees no input device and Open must
// say so.
func TestNoDevice(t *testing.T) {
	if os.Getenv(noDeviceEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoDevice$", "-test.v")
		cmd.Env = append(os.Environ(), noDeviceEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestNoDevice") {
			t.Fatalf("child test: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "--- SKIP") {
			t.Skip("this machine has a sound card")
		}
		return
	}
	if devs, err := ListDevices(); err != nil || len(devs) > 0 {
		t.Skipf("this machine has input devices %+v (%v)", devs, err)
	}
	_, err := Open(Config{})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "no capture device") {
		t.Fatalf("Open() without a sound card = %v, want a no capture device error", err)
	}
}
