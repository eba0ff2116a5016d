package event

// The G.711 tables (ITU-T Recommendation G.711, 1988), computed from the
// standard's expansion rules rather than copied: each 8-bit code maps to a
// linear sample, here on the 16-bit scale that telephony software uses
// (mu-law codes expand to ±32124 at most, A-law to ±32256), then to
// [-1, 1) by dividing by 32768.
var (
	muLawTable = g711Table(muLawExpand)
	aLawTable  = g711Table(aLawExpand)
)

func g711Table(expand func(code byte) int16) (t [256]float32) {
	for c := range 256 {
		t[c] = float32(expand(byte(c))) / 32768
	}
	return t
}

// muLawExpand expands a mu-law code (G.711 section 3, table 2a). Codes are
// sent with every bit inverted; after inversion the top bit is the sign (1
// negative), the next three the segment e and the low four the step m, and
// the magnitude on the 14-bit scale is ((2m + 33) << e) - 33, here shifted
// by two more bits to the 16-bit scale.
func muLawExpand(code byte) int16 {
	u := ^code
	e := int(u>>4) & 7
	m := int(u) & 0x0F
	mag := ((m<<3 | 0x84) << e) - 0x84
	if u&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// aLawExpand expands an A-law code (G.711 section 2, table 1a). Codes are
// sent with the even bits inverted (XOR 0x55); then the top bit is the sign
// (1 positive), the next three the segment e and the low four the step m.
// On the 13-bit scale the decision value's midpoint is 2m + 1 in segment 0
// and (2m + 33) << (e - 1) above, here shifted by three bits to the 16-bit
// scale.
func aLawExpand(code byte) int16 {
	a := code ^ 0x55
	e := int(a>>4) & 7
	m := int(a) & 0x0F
	mag := m<<4 | 8
	if e > 0 {
		mag = (m<<4 | 0x108) << (e - 1)
	}
	if a&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}
