package tfjs

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// graphModel is the model.json of a TensorFlow.js graph model
// (tfjs-converter's "graph-model" format): a TensorFlow GraphDef in JSON
// plus a manifest of the weight shards.
type graphModel struct {
	Format        string `json:"format"`
	ModelTopology struct {
		Node []node `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []weightSpec `json:"weights"`
	} `json:"weightsManifest"`
	Signature           *signature `json:"signature"`
	UserDefinedMetadata struct {
		Signature *signature `json:"signature"`
	} `json:"userDefinedMetadata"`
}

// signature names the graph's outputs ("name:0").
type signature struct {
	Outputs map[string]json.RawMessage `json:"outputs"`
}

// node is one TensorFlow NodeDef.
type node struct {
	Name  string          `json:"name"`
	Op    string          `json:"op"`
	Input []string        `json:"input"`
	Attr  map[string]attr `json:"attr"`
}

// attr is a TensorFlow AttrValue in JSON: int64 values are strings,
// strings are base64.
type attr struct {
	S     *string `json:"s"`
	B     *bool   `json:"b"`
	Type  string  `json:"type"`
	Shape *shape  `json:"shape"`
	List  *struct {
		S []string  `json:"s"`
		I []jsonInt `json:"i"`
	} `json:"list"`
}

// shape is a TensorShapeProto in JSON.
type shape struct {
	Dim []struct {
		Size jsonInt `json:"size"`
	} `json:"dim"`
	UnknownRank bool `json:"unknownRank"`
}

// jsonInt is an int64 written as a JSON number or string.
type jsonInt int64

// UnmarshalJSON accepts 3 and "3".
func (j *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, err)
	}
	*j = jsonInt(v)
	return nil
}

// weightSpec is one entry of a weights manifest group.
type weightSpec struct {
	Name         string          `json:"name"`
	Shape        []int64         `json:"shape"`
	Dtype        string          `json:"dtype"`
	Quantization json.RawMessage `json:"quantization"`
}

// constant is a decoded weight: float32 or int32 values with their shape.
type constant struct {
	shape []int64
	f32   []float32
	i32   []int32
}

// readWeights decodes every weight of the manifest; readShard returns the
// bytes of one shard path named in the manifest. What it allocates is
// bounded by the shards' real size: the shards of all groups hold at most
// MaxWeightBytes, and a weight is decoded only once its bytes were found
// in its group's shards.
func readWeights(m *graphModel, readShard func(path string) ([]byte, error)) (map[string]*constant, error) {
	out := make(map[string]*constant)
	total := 0
	for g, group := range m.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			b, err := readShard(p)
			if err != nil {
				return nil, fmt.Errorf("tfjs: weight shard %s: %w", p, err)
			}
			if total += len(b); total > MaxWeightBytes {
				return nil, fmt.Errorf("tfjs: weight shard %s: the shards hold more than %d bytes (MaxWeightBytes)", p, MaxWeightBytes)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, w := range group.Weights {
			if len(w.Quantization) > 0 && string(w.Quantization) != "null" {
				return nil, fmt.Errorf("tfjs: weight %s: quantized weights are not supported", w.Name)
			}
			if w.Dtype != "float32" && w.Dtype != "int32" {
				return nil, fmt.Errorf("tfjs: weight %s: dtype %q is not supported (float32, int32)", w.Name, w.Dtype)
			}
			n, ok := elements(w.Shape, (len(buf)-off)/4)
			if !ok {
				return nil, fmt.Errorf("tfjs: weight %s: shape %v does not fit the %d bytes left in group %d", w.Name, w.Shape, len(buf)-off, g)
			}
			size := n * 4
			c := &constant{shape: w.Shape}
			raw := buf[off : off+size]
			if w.Dtype == "float32" {
				c.f32 = make([]float32, n)
				for i := range c.f32 {
					c.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				}
			} else {
				c.i32 = make([]int32, n)
				for i := range c.i32 {
					c.i32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
				}
			}
			out[w.Name] = c
			off += size
		}
		if off != len(buf) {
			return nil, fmt.Errorf("tfjs: weight group %d: manifest covers %d bytes, shards hold %d", g, off, len(buf))
		}
	}
	return out, nil
}

// elements returns the number of elements of a tensor of shape (1 for a
// scalar, the empty shape), and false when a dimension is negative or the
// tensor has more than limit elements.
func elements(shape []int64, limit int) (int, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > int64(limit)/d) {
			return 0, false
		}
		n *= d
	}
	if n > int64(limit) {
		return 0, false
	}
	return int(n), true
}

// str returns the decoded string attribute name of n, or "".
func (n *node) str(name string) (string, error) {
	a, ok := n.Attr[name]
	if !ok || a.S == nil {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return "", fmt.Errorf("tfjs: node %s: attribute %s: %w", n.Name, name, err)
	}
	return string(b), nil
}

// ints returns the integer-list attribute name of n.
func (n *node) ints(name string) []int64 {
	a, ok := n.Attr[name]
	if !ok || a.List == nil {
		return nil
	}
	v := make([]int64, len(a.List.I))
	for i, x := range a.List.I {
		v[i] = int64(x)
	}
	return v
}

// strs returns the decoded string-list attribute name of n.
func (n *node) strs(name string) ([]string, error) {
	a, ok := n.Attr[name]
	if !ok || a.List == nil {
		return nil, nil
	}
	v := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("tfjs: node %s: attribute %s: %w", n.Name, name, err)
		}
		v[i] = string(b)
	}
	return v, nil
}

// boolean returns the boolean attribute name of n (false when absent).
func (n *node) boolean(name string) bool {
	a, ok := n.Attr[name]
	return ok && a.B != nil && *a.B
}
