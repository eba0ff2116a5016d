package mmsa

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/alloctest"
)

// aliasedSplits returns a pickle of n splits: "s0" holds a split of 64
// clips of 32x32 audio features, and every other split names it again
// through the memo (BINGET), costing 2 bytes each in the file.
func aliasedSplits(n int) []byte {
	s := variantSplit(false, false)
	s.IDs, s.RawText = make([]string, 64), make([]string, 64)
	for i := range s.IDs {
		s.IDs[i] = fmt.Sprintf("clip-%d", i)
	}
	s.Text, s.TextBERT = fill(64, 3, 4, variantText), fill(64, 3, 3, variantBERT)
	s.Audio, s.Vision = fill(64, 32, 32, variantAudio), fill(64, 3, 2, variantVision)
	s.AudioLengths, s.VisionLengths, s.Regression = make([]int, 64), make([]int, 64), make([]float32, 64)
	var b bytes.Buffer
	out := &pickler{w: bufio.NewWriter(&b)}
	out.op(opProto, writeProtocol)
	out.op(opEmptyDict)
	out.op(opMark)
	out.str("s0")
	out.split(s)
	out.op(opBinPut, 0)
	for i := 1; i < n; i++ {
		out.str(fmt.Sprintf("s%d", i))
		out.op(opBinGet, 0)
	}
	out.op(opSetItems)
	out.op(opStop)
	if err := out.w.Flush(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestDecodeAliasedSplits decodes a pickle whose 300 splits name one
// memoised split (which made train use 8.5 GB): an error saying the
// splits outgrow the file, while one split decodes.
func TestDecodeAliasedSplits(t *testing.T) {
	if _, err := Decode(bytes.NewReader(aliasedSplits(1))); err != nil {
		t.Fatalf("one split: %v", err)
	}
	_, err := Decode(bytes.NewReader(aliasedSplits(300)))
	if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "sharing one array") {
		t.Fatalf("Decode = %v, want a layout error on the shared split", err)
	}
}

// FuzzDecodeBounded checks that Decode allocates at most 2 MiB plus 64
// bytes per input byte (budgetFactor times the input for the splits, the
// pickle's own objects besides), whatever the pickle shares.
func FuzzDecodeBounded(f *testing.F) {
	f.Add(aliasedSplits(300))
	f.Add(aliasedSplits(2))
	f.Fuzz(func(t *testing.T, b []byte) {
		alloctest.Bound(t, 2<<20+64*uint64(len(b)), func() { _, _ = Decode(bytes.NewReader(b)) })
	})
}
