package mmsa

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBig(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

// get returns d[key], or nil.
func get(d *pyDict, key string) any {
	v, _ := d.get(key)
	return v
}

func remove(d *pyDict, key string) {
	for i, k := range d.keys {
		if k == key {
			d.keys = append(d.keys[:i], d.keys[i+1:]...)
			d.vals = append(d.vals[:i], d.vals[i+1:]...)
			return
		}
	}
}

func replace(d *pyDict, key string, v any) {
	for i, k := range d.keys {
		if k == key {
			d.vals[i] = v
			return
		}
	}
}

// otherSplit decodes raw and returns split[key].
func otherSplit(t *testing.T, raw []byte, split, key string) any {
	t.Helper()
	top, err := decodePickle(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return get(get(top.(*pyDict), split).(*pyDict), key)
}
