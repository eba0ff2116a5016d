package tfjs

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cmc-stream/cmc-stream/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Versions of the written ONNX model: IR version 8 with the default-domain
// operator set 13.
const (
	IRVersion = 8
	Opset     = 13
)

// Limits of Convert and ConvertFile. What they allocate is bounded by the
// size of their input: the model.json, at most MaxModelJSONBytes, and the
// weight shards, at most MaxWeightBytes in all. A weight shared by several
// nodes is converted once, so the ONNX model holds at most three copies of
// each weight (as a filter, a depthwise filter and a bias).
const (
	// MaxModelJSONBytes is the largest model.json accepted: 64 MiB (the
	// mini-Xception expression model's is 18 KB).
	MaxModelJSONBytes = 64 << 20
	// MaxWeightBytes is the largest total size of the weight shards:
	// 1 GiB.
	MaxWeightBytes = 1 << 30
)

// ConvertFile converts the graph model at modelJSON, reading its weight
// shards from the same folder; a shard path that leaves the folder is an
// error.
func ConvertFile(modelJSON string) (*onnxpb.ModelProto, error) {
	b, err := readFileMax(modelJSON, MaxModelJSONBytes)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(modelJSON)
	m, err := Convert(b, func(p string) ([]byte, error) {
		if !filepath.IsLocal(p) {
			return nil, fmt.Errorf("path %q leaves the model's folder", p)
		}
		return readFileMax(filepath.Join(dir, p), MaxWeightBytes)
	})
	if err != nil {
		return nil, fmt.Errorf("%w (model %s)", err, modelJSON)
	}
	return m, nil
}

// Marshal encodes m as an .onnx file, deterministically: the same model
// gives the same bytes, so that the set-up can pin the converted
// expression model's sha256.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("tfjs: encoding the ONNX model: %w", err)
	}
	return b, nil
}

// readFileMax reads the file at path, or fails without reading it when it
// holds more than limit bytes.
func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("tfjs: %s holds more than %d bytes", path, limit)
	}
	return b, nil
}

// Convert converts a TensorFlow.js graph model (the bytes of its
// model.json) to an ONNX model; readShard returns the bytes of a weight
// shard named in the manifest. The ONNX graph has the TF.js inputs
// (placeholders, NHWC as in TensorFlow) and outputs (the signature's, else
// the nodes nothing consumes) under their node names.
func Convert(modelJSON []byte, readShard func(path string) ([]byte, error)) (*onnxpb.ModelProto, error) {
	if len(modelJSON) > MaxModelJSONBytes {
		return nil, fmt.Errorf("tfjs: model.json holds %d bytes, more than %d (MaxModelJSONBytes)", len(modelJSON), MaxModelJSONBytes)
	}
	var m graphModel
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		return nil, fmt.Errorf("tfjs: model.json: %w", err)
	}
	if m.Format != "" && m.Format != "graph-model" {
		return nil, fmt.Errorf("tfjs: format %q is not a graph model", m.Format)
	}
	consts, err := readWeights(&m, readShard)
	if err != nil {
		return nil, err
	}
	c := &converter{
		nodes:  make(map[string]*node, len(m.ModelTopology.Node)),
		consts: consts,
		values: make(map[string]value),
		busy:   make(map[string]bool),
		inits:  make(map[initKey]string),
		g:      &onnxpb.GraphProto{Name: proto.String("tfjs")},
	}
	for i := range m.ModelTopology.Node {
		n := &m.ModelTopology.Node[i]
		c.nodes[n.Name] = n
	}
	outputs, err := c.outputNames(&m)
	if err != nil {
		return nil, err
	}
	for _, o := range outputs {
		if _, err := c.visit(o); err != nil {
			return nil, err
		}
	}
	c.finishOutputs(outputs)
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		ProducerName: proto.String("cmc-stream internal/tfjs"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:        c.g,
	}, nil
}

// value is a converted tensor: its ONNX name and whether it holds a 4-D
// NHWC tensor of TensorFlow transposed to NCHW (the layout of ONNX's Conv
// and pooling operators).
type value struct {
	name string
	nchw bool
}

type converter struct {
	nodes  map[string]*node
	consts map[string]*constant
	values map[string]value
	busy   map[string]bool
	// inits names the initializer of each weight in each layout, so that
	// a weight shared by several nodes is converted once.
	inits map[initKey]string
	g     *onnxpb.GraphProto
}

// initKey is a weight in one ONNX layout: "filter", "depthwise" or
// "bias".
type initKey struct {
	weight *constant
	layout string
}

// outputNames returns the graph outputs: the signature's, else every
// non-constant node no other node consumes, sorted.
func (c *converter) outputNames(m *graphModel) ([]string, error) {
	sig := m.Signature
	if sig == nil {
		sig = m.UserDefinedMetadata.Signature
	}
	var out []string
	if sig != nil && len(sig.Outputs) > 0 {
		for k := range sig.Outputs {
			out = append(out, tensorNode(k))
		}
	} else {
		used := make(map[string]bool)
		for _, n := range c.nodes {
			for _, in := range n.Input {
				used[tensorNode(in)] = true
			}
		}
		for name, n := range c.nodes {
			if !used[name] && n.Op != "Const" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	out = slices.Compact(out) // "y" and "y:0" name the same node
	if len(out) == 0 {
		return nil, fmt.Errorf("tfjs: graph has no outputs")
	}
	return out, nil
}

// tensorNode returns the node name of a tensor reference "name", "name:0"
// or "^name" (a control dependency).
func tensorNode(ref string) string {
	ref = strings.TrimPrefix(ref, "^")
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		return ref[:i]
	}
	return ref
}

// visit converts the node producing name after its inputs (a depth-first,
// topological order) and returns its value.
func (c *converter) visit(name string) (value, error) {
	if v, ok := c.values[name]; ok {
		return v, nil
	}
	n, ok := c.nodes[name]
	if !ok {
		return value{}, fmt.Errorf("tfjs: node %q is referenced but not defined", name)
	}
	if c.busy[name] {
		return value{}, fmt.Errorf("tfjs: node %s: the graph has a cycle", name)
	}
	c.busy[name] = true
	for _, in := range n.Input {
		if strings.HasPrefix(in, "^") {
			continue
		}
		if i := strings.LastIndexByte(in, ':'); i >= 0 && in[i+1:] != "0" {
			return value{}, fmt.Errorf("tfjs: node %s: input %s: only the first output of a node is supported", n.Name, in)
		}
		if _, isConst := c.consts[tensorNode(in)]; isConst {
			continue
		}
		if _, err := c.visit(tensorNode(in)); err != nil {
			return value{}, err
		}
	}
	v, err := c.convert(n)
	if err != nil {
		return value{}, err
	}
	c.values[name] = v
	return v, nil
}

// convert emits the ONNX nodes of one TensorFlow node.
func (c *converter) convert(n *node) (value, error) {
	switch n.Op {
	case "Placeholder":
		return c.placeholder(n)
	case "Const":
		return value{}, fmt.Errorf("tfjs: node %s: constant without weights in the manifest", n.Name)
	case "Conv2D", "_FusedConv2D":
		return c.conv(n, false)
	case "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return c.conv(n, true)
	case "MaxPool":
		return c.maxPool(n)
	case "Add", "AddV2":
		return c.add(n)
	case "Relu":
		x, err := c.input(n, 0)
		if err != nil {
			return value{}, err
		}
		c.emit("Relu", []string{x.name}, n.Name)
		return value{n.Name, x.nchw}, nil
	case "Identity":
		x, err := c.input(n, 0)
		if err != nil {
			return value{}, err
		}
		c.emit("Identity", []string{x.name}, n.Name)
		return value{n.Name, x.nchw}, nil
	case "Mean":
		return c.mean(n)
	case "Softmax":
		return c.softmax(n)
	}
	return value{}, fmt.Errorf("tfjs: node %s: operator %s is not supported", n.Name, n.Op)
}

// input returns the converted non-constant input i of n.
func (c *converter) input(n *node, i int) (value, error) {
	if i >= len(n.Input) {
		return value{}, fmt.Errorf("tfjs: node %s: %s has %d inputs, want at least %d", n.Name, n.Op, len(n.Input), i+1)
	}
	name := tensorNode(n.Input[i])
	if _, isConst := c.consts[name]; isConst {
		return value{}, fmt.Errorf("tfjs: node %s: constant input %s is not supported here", n.Name, name)
	}
	return c.values[name], nil
}

// constInput returns input i of n, which must be a weight.
func (c *converter) constInput(n *node, i int) (*constant, error) {
	if i >= len(n.Input) {
		return nil, fmt.Errorf("tfjs: node %s: %s has %d inputs, want at least %d", n.Name, n.Op, len(n.Input), i+1)
	}
	k, ok := c.consts[tensorNode(n.Input[i])]
	if !ok {
		return nil, fmt.Errorf("tfjs: node %s: input %s must be a constant", n.Name, n.Input[i])
	}
	return k, nil
}

func (c *converter) emit(op string, inputs []string, output string, attrs ...*onnxpb.AttributeProto) {
	c.g.Node = append(c.g.Node, &onnxpb.NodeProto{
		Name: proto.String(output), OpType: proto.String(op),
		Input: inputs, Output: []string{output}, Attribute: attrs,
	})
}

func (c *converter) initializer(name string, dims []int64, data []float32) string {
	c.g.Initializer = append(c.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data,
	})
	return name
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// floatType is an ONNX float tensor type with the given dimensions (-1:
// a symbolic batch dimension); nil dims leaves the shape unknown.
func floatType(dims []int64) *onnxpb.TypeProto {
	t := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if dims != nil {
		t.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
			if d < 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
			}
			t.Shape.Dim = append(t.Shape.Dim, dim)
		}
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: t}}
}

// placeholder declares a float graph input; a 4-D (NHWC) input is
// transposed to NCHW for the operators that follow.
func (c *converter) placeholder(n *node) (value, error) {
	if t := n.Attr["dtype"].Type; t != "" && t != "DT_FLOAT" {
		return value{}, fmt.Errorf("tfjs: input %s: dtype %s is not supported (DT_FLOAT)", n.Name, t)
	}
	s := n.Attr["shape"].Shape
	if s == nil || s.UnknownRank {
		return value{}, fmt.Errorf("tfjs: input %s: unknown shape", n.Name)
	}
	dims := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		dims[i] = int64(d.Size)
	}
	c.g.Input = append(c.g.Input, &onnxpb.ValueInfoProto{Name: proto.String(n.Name), Type: floatType(dims)})
	if len(dims) != 4 {
		return value{n.Name, false}, nil
	}
	out := n.Name + "/nchw"
	c.emit("Transpose", []string{n.Name}, out, attrInts("perm", 0, 3, 1, 2))
	return value{out, true}, nil
}

// spatial returns the H and W entries of a 4-element NHWC attribute (the
// default when absent), checking that the batch and channel entries are 1.
func spatial(n *node, name string, def int64) ([]int64, error) {
	v := n.ints(name)
	if len(v) == 0 {
		return []int64{def, def}, nil
	}
	if len(v) != 4 || v[0] != 1 || v[3] != 1 {
		return nil, fmt.Errorf("tfjs: node %s: %s %v must be [1, h, w, 1]", n.Name, name, v)
	}
	return v[1:3], nil
}

// padding returns the ONNX attribute of TensorFlow's padding: SAME pads
// the extra pixel at the end, as ONNX's SAME_UPPER.
func padding(n *node) (*onnxpb.AttributeProto, error) {
	if df, err := n.str("data_format"); err != nil {
		return nil, err
	} else if df != "" && df != "NHWC" {
		return nil, fmt.Errorf("tfjs: node %s: data_format %s is not supported (NHWC)", n.Name, df)
	}
	p, err := n.str("padding")
	if err != nil {
		return nil, err
	}
	switch p {
	case "SAME":
		return attrString("auto_pad", "SAME_UPPER"), nil
	case "VALID":
		return attrString("auto_pad", "VALID"), nil
	}
	return nil, fmt.Errorf("tfjs: node %s: padding %q is not supported (SAME, VALID)", n.Name, p)
}

// conv converts Conv2D and depthwise convolutions, with the fused bias
// and ReLU of grappler's _FusedConv2D. TensorFlow filters are HWIO
// (depthwise: H, W, C, multiplier); ONNX wants OIHW (depthwise: C*M, 1, H,
// W with group C).
func (c *converter) conv(n *node, depthwise bool) (value, error) {
	x, err := c.input(n, 0)
	if err != nil {
		return value{}, err
	}
	if !x.nchw {
		return value{}, fmt.Errorf("tfjs: node %s: input %s is not a 4-D image tensor", n.Name, n.Input[0])
	}
	w, err := c.constInput(n, 1)
	if err != nil {
		return value{}, err
	}
	if len(w.shape) != 4 || w.f32 == nil {
		return value{}, fmt.Errorf("tfjs: node %s: filter %s has shape %v, want 4-D float32", n.Name, n.Input[1], w.shape)
	}
	strides, err := spatial(n, "strides", 1)
	if err != nil {
		return value{}, err
	}
	dilations, err := spatial(n, "dilations", 1)
	if err != nil {
		return value{}, err
	}
	pad, err := padding(n)
	if err != nil {
		return value{}, err
	}
	kh, kw, ci, co := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	dims := []int64{co, ci, kh, kw}
	group := int64(1)
	layout := "filter"
	if depthwise {
		dims = []int64{ci * co, 1, kh, kw}
		group = ci
		layout = "depthwise"
	}
	key := initKey{w, layout}
	filter, ok := c.inits[key]
	if !ok {
		filter = c.initializer(n.Name+"/weights", dims, filterOIHW(w, depthwise))
		c.inits[key] = filter
	}
	inputs := []string{x.name, filter}
	fused, err := n.strs("fused_ops")
	if err != nil {
		return value{}, err
	}
	relu := false
	switch {
	case len(fused) == 0:
	case slices.Equal(fused, []string{"BiasAdd"}), slices.Equal(fused, []string{"BiasAdd", "Relu"}):
		b, err := c.constInput(n, 2)
		if err != nil {
			return value{}, err
		}
		if len(b.f32) != int(dims[0]) {
			return value{}, fmt.Errorf("tfjs: node %s: bias %s has %d values, want %d", n.Name, n.Input[2], len(b.f32), dims[0])
		}
		key := initKey{b, "bias"}
		bias, ok := c.inits[key]
		if !ok {
			bias = c.initializer(n.Name+"/bias", []int64{dims[0]}, b.f32)
			c.inits[key] = bias
		}
		inputs = append(inputs, bias)
		relu = len(fused) == 2
	default:
		return value{}, fmt.Errorf("tfjs: node %s: fused operators %v are not supported (BiasAdd, Relu)", n.Name, fused)
	}
	out := n.Name
	if relu {
		out = n.Name + "/conv"
	}
	c.emit("Conv", inputs, out, attrInts("kernel_shape", kh, kw), attrInts("strides", strides...),
		attrInts("dilations", dilations...), attrInt("group", group), pad)
	if relu {
		c.emit("Relu", []string{out}, n.Name)
	}
	return value{n.Name, true}, nil
}

// filterOIHW returns the values of a TensorFlow filter w (HWIO; depthwise:
// H, W, C, multiplier) in ONNX's order (OIHW; depthwise: C*M, 1, H, W).
func filterOIHW(w *constant, depthwise bool) []float32 {
	kh, kw, ci, co := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	wt := make([]float32, len(w.f32))
	for h := range kh {
		for k := range kw {
			for i := range ci {
				for o := range co {
					src := ((h*kw+k)*ci+i)*co + o
					if depthwise {
						wt[((i*co+o)*kh+h)*kw+k] = w.f32[src]
					} else {
						wt[((o*ci+i)*kh+h)*kw+k] = w.f32[src]
					}
				}
			}
		}
	}
	return wt
}

func (c *converter) maxPool(n *node) (value, error) {
	x, err := c.input(n, 0)
	if err != nil {
		return value{}, err
	}
	if !x.nchw {
		return value{}, fmt.Errorf("tfjs: node %s: input %s is not a 4-D image tensor", n.Name, n.Input[0])
	}
	kernel, err := spatial(n, "ksize", 1)
	if err != nil {
		return value{}, err
	}
	strides, err := spatial(n, "strides", 1)
	if err != nil {
		return value{}, err
	}
	pad, err := padding(n)
	if err != nil {
		return value{}, err
	}
	c.emit("MaxPool", []string{x.name}, n.Name, attrInts("kernel_shape", kernel...), attrInts("strides", strides...), pad)
	return value{n.Name, true}, nil
}

func (c *converter) add(n *node) (value, error) {
	a, err := c.input(n, 0)
	if err != nil {
		return value{}, err
	}
	b, err := c.input(n, 1)
	if err != nil {
		return value{}, err
	}
	if a.nchw != b.nchw {
		return value{}, fmt.Errorf("tfjs: node %s: adding a 4-D image tensor to another shape is not supported", n.Name)
	}
	c.emit("Add", []string{a.name, b.name}, n.Name)
	return value{n.Name, a.nchw}, nil
}

// nhwcToNCHW maps an NHWC axis to its NCHW position.
var nhwcToNCHW = [4]int64{0, 2, 3, 1}

// mean converts a Mean over constant axes.
func (c *converter) mean(n *node) (value, error) {
	x, err := c.input(n, 0)
	if err != nil {
		return value{}, err
	}
	ax, err := c.constInput(n, 1)
	if err != nil {
		return value{}, err
	}
	if ax.i32 == nil {
		return value{}, fmt.Errorf("tfjs: node %s: axes %s must be int32", n.Name, n.Input[1])
	}
	keep := n.boolean("keep_dims") || n.boolean("keepDims")
	axes := make([]int64, len(ax.i32))
	for i, a := range ax.i32 {
		axes[i] = int64(a)
		if x.nchw {
			if a < 0 {
				a += 4
			}
			if a < 0 || a > 3 {
				return value{}, fmt.Errorf("tfjs: node %s: axis %d out of range for a 4-D tensor", n.Name, ax.i32[i])
			}
			axes[i] = nhwcToNCHW[a]
		}
	}
	nchw := x.nchw && keep
	if x.nchw && !keep {
		// The kept axes must keep their order, or the result's layout
		// would differ from TensorFlow's.
		last := int64(-1)
		for a := range 4 {
			if slices.Contains(axes, nhwcToNCHW[a]) {
				continue
			}
			if nhwcToNCHW[a] < last {
				return value{}, fmt.Errorf("tfjs: node %s: mean over axes %v of an image tensor reorders the kept axes", n.Name, ax.i32)
			}
			last = nhwcToNCHW[a]
		}
	}
	k := int64(0)
	if keep {
		k = 1
	}
	c.emit("ReduceMean", []string{x.name}, n.Name, attrInts("axes", axes...), attrInt("keepdims", k))
	return value{n.Name, nchw}, nil
}

// softmax converts a Softmax over the last (TensorFlow) axis, the channel
// axis of an image tensor.
func (c *converter) softmax(n *node) (value, error) {
	x, err := c.input(n, 0)
	if err != nil {
		return value{}, err
	}
	axis := int64(-1)
	if x.nchw {
		axis = 1
	}
	c.emit("Softmax", []string{x.name}, n.Name, attrInt("axis", axis))
	return value{n.Name, x.nchw}, nil
}

// finishOutputs declares the graph outputs under their TensorFlow names,
// transposing image tensors back to NHWC.
func (c *converter) finishOutputs(outputs []string) {
	renames := make(map[string]string)
	for _, o := range outputs {
		v := c.values[o]
		if v.nchw {
			renames[v.name] = o + "/nchw"
		}
	}
	c.rename(renames)
	for _, o := range outputs {
		v := c.values[o]
		if v.nchw {
			c.emit("Transpose", []string{o + "/nchw"}, o, attrInts("perm", 0, 2, 3, 1))
		} else if v.name != o {
			c.emit("Identity", []string{v.name}, o)
		}
		c.g.Output = append(c.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(o), Type: floatType(nil)})
	}
}

// rename renames each tensor from to renames[from] in every node, and the
// node named after it, in one pass over the nodes.
func (c *converter) rename(renames map[string]string) {
	if len(renames) == 0 {
		return
	}
	for _, nd := range c.g.Node {
		if to, ok := renames[nd.GetName()]; ok {
			nd.Name = proto.String(to)
		}
		for i, s := range nd.Input {
			if to, ok := renames[s]; ok {
				nd.Input[i] = to
			}
		}
		for i, s := range nd.Output {
			if to, ok := renames[s]; ok {
				nd.Output[i] = to
			}
		}
	}
}
