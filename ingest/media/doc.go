// Package media is the audio file source of cmc-stream: it reads the audio of
// a WAV file, or the audio track of any file the ffmpeg binary can read (a
// video, MP3, AAC...), as mono float32 at a fixed sample rate, in chunks
// stamped with their start time in event time (frames before the chunk /
// sample rate).
//
// A WAV file at the configured rate (PCM 8, 16, 24 or 32 bit, or IEEE float)
// is decoded directly, its channels averaged to mono; anything else,
// including a WAV at another rate, is decoded by running
//
//	ffmpeg -nostdin -i FILE -vn -f f32le -ac 1 -ar RATE -
//
// and reading its standard output. The package is pure Go (it runs ffmpeg as
// a process) and builds with CGO_ENABLED=0.
//
// With [Config.Realtime] a [Source] paces its chunks like a microphone would:
// a chunk is returned once the time since the first Read reaches the chunk's
// end. The clock is injectable ([Config.Now], [Config.Sleep]) so tests do not
// sleep. Without it chunks come as fast as the file decodes (offline
// extraction).
package media
