package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/alloctest"
)

// aliased returns a file whose n F32 tensors all name the same 4*count
// bytes.
func aliased(n, count int) []byte {
	header := map[string]any{}
	for i := range n {
		header[fmt.Sprintf("t%04d", i)] = map[string]any{"dtype": "F32", "shape": []int{count}, "data_offsets": []int{0, 4 * count}}
	}
	h, _ := json.Marshal(header)
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	b = append(b, h...)
	return append(b, make([]byte, 4*count)...)
}

// TestDecodeAliasedTensors decodes 3,000 tensors naming the same bytes
// (which made infer die out of memory): an error naming two of them.
func TestDecodeAliasedTensors(t *testing.T) {
	_, err := Decode(aliased(3000, 1024))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "overlaps tensor") {
		t.Fatalf("Decode = %v, want an overlap error", err)
	}
	if _, err := Decode(aliased(1, 1024)); err != nil {
		t.Fatalf("one tensor: %v", err)
	}
}

// FuzzDecodeBounded checks that Decode allocates at most 1 MiB plus 32
// bytes per input byte, whatever the header declares.
func FuzzDecodeBounded(f *testing.F) {
	f.Add(aliased(200, 16384))
	f.Add(aliased(1, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		alloctest.Bound(t, 1<<20+32*uint64(len(b)), func() { _, _ = Decode(b) })
	})
}
