// Package audio is the live microphone source of cmc-stream, bound to
// PortAudio (github.com/gordonklaus/portaudio, PortAudio 19.6).
//
// [Open] starts an input stream on a device chosen by name, or on the default
// input device, at 16 kHz mono float32 unless configured otherwise. PortAudio
// calls the stream callback on its own thread; the callback copies the
// samples into a bounded ring buffer and never blocks: it takes no lock,
// allocates nothing and only signals the reader through a channel with a
// non-blocking send. [Stream.Read] delivers the samples in chunks of
// [Config.ChunkFrames] frames, each with its start time in event time (frames
// captured before it / sample rate), so time stamps follow the sound card's
// clock, not the wall clock.
//
// # Drop policy
//
// The ring holds [Config.BufferFrames] frames (2 s by default). When the
// reader falls further behind, the newest samples overwrite the oldest, which
// the reader then skips and counts in [Stats.Dropped]; the next chunk's Start
// jumps accordingly. Overflows reported by PortAudio itself are counted in
// [Stats.Overflows].
//
// # Initialisation
//
// PortAudio is initialised once per process: the program calls [Init] at
// start-up and defers [Terminate], which closes any stream still open.
// [Open] and [ListDevices] return [ErrNotInitialized] before Init.
//
// # Build tags
//
// The package needs cgo and PortAudio (pkg-config portaudio-2.0). Built with
// the tag noportaudio, or with CGO_ENABLED=0, Init, Open and ListDevices
// return [ErrNotBuilt] and nothing links against PortAudio. Under -race the
// binding trips Go's pointer checks (its OpenStream converts a uintptr to an
// unsafe.Pointer), so run this package's race tests with
// -gcflags=all=-d=checkptr=0; the ring buffer's race test also runs in the
// noportaudio build.
//
// # Machines without a sound card
//
// PortAudio then lists no devices and Open fails with [ErrNoDevice]. The tests
// route ALSA's default capture device through the ALSA file plugin over a raw
// S16_LE file (see the package tests), so PortAudio reads known samples.
package audio
