//go:build cgo && !noportaudio

package audio

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gordonklaus/portaudio"
)

// pa guards the process-wide PortAudio initialisation.
var pa struct {
	sync.Mutex
	initialized bool
}

// Init initialises PortAudio for the process. Call it once at start-up,
// before Open or ListDevices, and defer Terminate; further calls do nothing
// until Terminate. ALSA reads its configuration (~/.asoundrc) here. It is
// safe for concurrent use.
func Init() error {
	pa.Lock()
	defer pa.Unlock()
	if pa.initialized {
		return nil
	}
	if err := portaudio.Initialize(); err != nil {
		return fmt.Errorf("audio: initialising PortAudio: %w", err)
	}
	pa.initialized = true
	return nil
}

// Terminate releases PortAudio; PortAudio closes any stream still open. Close
// streams first to stop them cleanly. It does nothing if PortAudio is not
// initialised, and is safe for concurrent use.
func Terminate() error {
	pa.Lock()
	defer pa.Unlock()
	if !pa.initialized {
		return nil
	}
	pa.initialized = false
	if err := portaudio.Terminate(); err != nil {
		return fmt.Errorf("audio: terminating PortAudio: %w", err)
	}
	return nil
}

// ListDevices returns the input devices PortAudio sees (none on a machine
// without a sound card). It returns ErrNotInitialized before Init.
func ListDevices() ([]Device, error) {
	devs, def, err := inputDevices()
	if err != nil {
		return nil, err
	}
	out := make([]Device, len(devs))
	for i, d := range devs {
		out[i] = Device{
			Name:              d.Name,
			HostAPI:           d.HostApi.Name,
			MaxInputChannels:  d.MaxInputChannels,
			DefaultSampleRate: d.DefaultSampleRate,
			Default:           d == def,
		}
	}
	return out, nil
}

// inputDevices returns the devices with input channels and the default
// input device (nil if there is none).
func inputDevices() ([]*portaudio.DeviceInfo, *portaudio.DeviceInfo, error) {
	pa.Lock()
	defer pa.Unlock()
	if !pa.initialized {
		return nil, nil, ErrNotInitialized
	}
	all, err := portaudio.Devices()
	if err != nil {
		return nil, nil, fmt.Errorf("audio: listing devices: %w", err)
	}
	var in []*portaudio.DeviceInfo
	for _, d := range all {
		if d.MaxInputChannels > 0 {
			in = append(in, d)
		}
	}
	def, err := portaudio.DefaultInputDevice()
	if err != nil && !errors.Is(err, portaudio.NoDefaultInputDevice) {
		return nil, nil, fmt.Errorf("audio: default input device: %w", err)
	}
	return in, def, nil
}

// pickDevice returns the device named name (exactly, or by a unique
// substring), or the default input device for an empty name.
func pickDevice(name string) (*portaudio.DeviceInfo, error) {
	devs, def, err := inputDevices()
	if err != nil {
		return nil, err
	}
	if name == "" {
		if def == nil {
			return nil, fmt.Errorf("%w: no default input device (%d input devices; is there a sound card?)", ErrNoDevice, len(devs))
		}
		return def, nil
	}
	var matches []*portaudio.DeviceInfo
	for _, d := range devs {
		if d.Name == name {
			return d, nil
		}
		if strings.Contains(d.Name, name) {
			matches = append(matches, d)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.Name
	}
	if len(matches) > 1 {
		return nil, fmt.Errorf("audio: device name %q is ambiguous among %q", name, names)
	}
	return nil, fmt.Errorf("%w named %q (input devices: %q)", ErrNoDevice, name, names)
}

// Open validates cfg, opens the input device and starts capturing into the
// ring buffer. With no input device (no sound card) or none of the
// configured name it fails with an error wrapping ErrNoDevice; before Init
// with ErrNotInitialized. The caller must Close the returned Stream.
func Open(cfg Config) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dev, err := pickDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	latency := cfg.Latency
	if latency == 0 {
		latency = dev.DefaultHighInputLatency
	}
	s := newStream(cfg)
	params := portaudio.StreamParameters{
		Input:           portaudio.StreamDeviceParameters{Device: dev, Channels: cfg.Channels, Latency: latency},
		SampleRate:      cfg.SampleRate,
		FramesPerBuffer: cfg.FramesPerBuffer,
	}
	stream, err := portaudio.OpenStream(params, s.callback)
	if err != nil {
		return nil, fmt.Errorf("audio: opening %q at %g Hz, %d channels: %w", dev.Name, cfg.SampleRate, cfg.Channels, err)
	}
	s.device = stream
	if err := stream.Start(); err != nil {
		_ = stream.Close() // the start error is the one to report
		return nil, fmt.Errorf("audio: starting %q: %w", dev.Name, err)
	}
	return s, nil
}

// callback runs on PortAudio's thread for every buffer: it never blocks.
func (s *Stream) callback(in []float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	if flags&portaudio.InputOverflow != 0 {
		s.overflows.Add(1)
	}
	s.capture(in)
}
