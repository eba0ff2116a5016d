// Package wavtest writes WAV files for the tests of the packages that
// decode them (internal/wav, features/audio, ingest/media).
package wavtest

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/cmc-stream/cmc-stream/internal/wav"
)

// Layout describes a WAV file.
type Layout struct {
	// Tag is wav.FormatPCM or wav.FormatIEEEFloat.
	Tag uint16
	// Bits is the size of one sample in bits.
	Bits int
	// Channels is the number of channels.
	Channels int
	// Rate is the sample rate in Hz.
	Rate int
	// Extensible writes a WAVE_FORMAT_EXTENSIBLE fmt chunk with Tag as its
	// subformat.
	Extensible bool
}

// Encode returns a WAV file of frames (one value per channel each) in
// layout l, PCM values scaled by 2^(bits-1) and rounded (8-bit offset by
// 128); the extra chunks (see [Chunk]) go between the fmt and data chunks.
func Encode(l Layout, frames [][]float64, extra ...[]byte) []byte {
	var data bytes.Buffer
	le := binary.LittleEndian
	for _, fr := range frames {
		for _, v := range fr {
			switch {
			case l.Tag == wav.FormatIEEEFloat && l.Bits == 32:
				data.Write(le.AppendUint32(nil, math.Float32bits(float32(v))))
			case l.Tag == wav.FormatIEEEFloat:
				data.Write(le.AppendUint64(nil, math.Float64bits(v)))
			case l.Bits == 8:
				data.WriteByte(byte(v*128 + 128))
			default:
				q := uint32(int32(math.Round(v * math.Exp2(float64(l.Bits-1)))))
				b := le.AppendUint32(nil, q)
				data.Write(b[:l.Bits/8])
			}
		}
	}
	block := l.Channels * l.Bits / 8
	fmtBody := le.AppendUint16(nil, l.Tag)
	if l.Extensible {
		fmtBody = le.AppendUint16(nil, wav.FormatExtensible)
	}
	fmtBody = le.AppendUint16(fmtBody, uint16(l.Channels))
	fmtBody = le.AppendUint32(fmtBody, uint32(l.Rate))
	fmtBody = le.AppendUint32(fmtBody, uint32(l.Rate*block))
	fmtBody = le.AppendUint16(fmtBody, uint16(block))
	fmtBody = le.AppendUint16(fmtBody, uint16(l.Bits))
	if l.Extensible {
		fmtBody = le.AppendUint16(fmtBody, 22)
		fmtBody = le.AppendUint16(fmtBody, uint16(l.Bits))
		fmtBody = le.AppendUint32(fmtBody, 0)
		guid := wav.SubformatGUID(l.Tag)
		fmtBody = append(fmtBody, guid[:]...)
	}
	var body bytes.Buffer
	body.WriteString("WAVE")
	body.Write(Chunk("fmt ", fmtBody))
	for _, c := range extra {
		body.Write(c)
	}
	body.Write(Chunk("data", data.Bytes()))
	return Chunk("RIFF", body.Bytes())
}

// Chunk frames body as a RIFF chunk with the four-character id, padded to
// an even size.
func Chunk(id string, body []byte) []byte {
	out := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// Patch returns a copy of file with b written over it at byte at.
func Patch(file []byte, at int, b ...byte) []byte {
	c := bytes.Clone(file)
	copy(c[at:], b)
	return c
}
