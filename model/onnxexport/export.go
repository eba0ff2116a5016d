// Package onnxexport writes a CMC model's inference forward pass as a
// standard ONNX graph (opset 17), so that the model can be served by any
// ONNX runtime.
//
// The graph has three float inputs, text [batch, text_len, Dims.Text],
// audio [batch, audio_len, Dims.Audio] and vision [batch, vision_len,
// Dims.Vision], with dynamic batch and sequence axes; a sequence may be
// shorter than the model's length and is zero-padded at the end inside the
// graph, as model.Inferencer does (it must not be longer). Its outputs are
// those of model.Output:
//
//   - logits [batch, 3]: the fused logits;
//   - expert_logits [batch, 3, 3]: expert (text, audio, vision) by class;
//   - router [batch, 3]: the MCR gate weights;
//   - embeddings [batch, 3, E]: the unit embeddings h_t, h_a, h_v;
//   - similarity [batch, 3, 3]: the PFM cosine matrix.
//
// The graph computes every padded position (ONNX has no equivalent of the
// Inferencer's padding shortcut), so it is the reference forward pass of
// cmc-model.md §2 written in ONNX operators.
package onnxexport

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/cmc-stream/cmc-stream/internal/onnxpb"
	"github.com/cmc-stream/cmc-stream/model"
)

// Versions of the written model: ONNX IR version 8 (ONNX 1.12, the schema of
// internal/onnxpb) and the default-domain opset 17, the first with
// LayerNormalization.
const (
	IRVersion = 8
	Opset     = 17
)

// Graph input and output names.
var (
	// Inputs are the input names, in model.Modalities order.
	Inputs = [model.Experts]string{"text", "audio", "vision"}
	// Outputs are the output names, in the order the graph lists them.
	Outputs = []string{"logits", "expert_logits", "router", "embeddings", "similarity"}
)

// Eps values of the reference layers (cmc-model.md §2, PyTorch defaults).
const (
	layerNormEps = 1e-5
	batchNormEps = 1e-5
	l2NormEps    = 1e-12
)

// Export returns the ONNX model of m's inference forward pass.
func Export(m *model.Model) (*onnxpb.ModelProto, error) {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("onnxexport: %w", err)
	}
	b := &builder{g: &onnxpb.GraphProto{Name: proto.String(cmp.Or(cfg.Name, "cmc"))}}
	e := int64(cfg.EmbedDim)
	var emb [model.Experts]string
	for _, mod := range model.Modalities {
		name := Inputs[mod]
		b.g.Input = append(b.g.Input, &onnxpb.ValueInfoProto{
			Name: proto.String(name),
			Type: floatType("batch", name+"_len", int64(cfg.Dims.Get(mod))),
		})
		emb[mod] = b.branch(m, mod, name)
	}
	for i := range emb {
		emb[i] = b.op("Unsqueeze", emb[i], b.ints("axis1", 1))
	}
	x := b.op("Concat", emb[0], emb[1], emb[2], attrInt("axis", 1))
	b.rename(x, "embeddings")
	x = "embeddings"

	// PFM: S = X Xᵀ, A = row_softmax(S/τ), X' = A X.
	sim := b.op("MatMul", x, b.op("Transpose", x, attrInts("perm", 0, 2, 1)))
	b.rename(sim, "similarity")
	tau := b.floats("tau", nil, float32(cfg.Temperature))
	a := b.op("Softmax", b.op("Div", "similarity", tau), attrInt("axis", -1))
	mixed := b.op("MatMul", a, x)

	// MCR: z = W_r Σ_k X'_k + b_r, top_k mask, g = softmax(z).
	z := b.linear("router", b.op("ReduceSum", mixed, b.ints("axis1", 1), attrInt("keepdims", 0)), &m.Weights.Router)
	if cfg.TopK < model.Experts {
		z = b.topK(z, cfg.TopK)
	}
	gate := b.op("Softmax", z, attrInt("axis", -1))
	b.rename(gate, "router")

	var expert [model.Experts]string
	for k := range model.Experts {
		xk := b.op("Gather", mixed, b.index(k), attrInt("axis", 1))
		hd := &m.Weights.Heads[k]
		pre := "head" + strconv.Itoa(k)
		hidden := b.op("Relu", b.linear(pre+".proj1", xk, &hd.Proj1))
		resid := b.op("Add", b.linear(pre+".proj2", hidden, &hd.Proj2), xk)
		expert[k] = b.op("Unsqueeze", b.linear(pre+".out", resid, &hd.Out), b.ints("axis1", 1))
	}
	experts := b.op("Concat", expert[0], expert[1], expert[2], attrInt("axis", 1))
	b.rename(experts, "expert_logits")
	fused := b.op("MatMul", b.op("Unsqueeze", "router", b.ints("axis1", 1)), "expert_logits")
	b.rename(b.op("Squeeze", fused, b.ints("axis1", 1)), "logits")

	shapes := map[string][]any{
		"logits":        {"batch", int64(model.Classes)},
		"expert_logits": {"batch", int64(model.Experts), int64(model.Classes)},
		"router":        {"batch", int64(model.Experts)},
		"embeddings":    {"batch", int64(model.Experts), e},
		"similarity":    {"batch", int64(model.Experts), int64(model.Experts)},
	}
	for _, name := range Outputs {
		b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: floatType(shapes[name]...)})
	}
	doc := fmt.Sprintf("CMC forward pass of %s %s (%d layers, %d heads, lengths text %d, audio %d, vision %d); inputs are zero-padded at the end to those lengths",
		cfg.Name, cfg.Version, cfg.Layers, cfg.Heads, cfg.Lengths.Text, cfg.Lengths.Audio, cfg.Lengths.Vision)
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		ProducerName: proto.String("cmc-stream model/onnxexport"),
		ModelVersion: proto.Int64(1),
		DocString:    proto.String(doc),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:        b.g,
	}, nil
}

// Marshal returns the encoded ONNX model of m (the bytes of an .onnx file).
func Marshal(m *model.Model) ([]byte, error) {
	p, err := Export(m)
	if err != nil {
		return nil, err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("onnxexport: %w", err)
	}
	return raw, nil
}

// branch adds one unimodal encoder on the graph input named in and returns
// the name of its unit embeddings [batch, E].
func (b *builder) branch(m *model.Model, mod model.Modality, in string) string {
	cfg := &m.Config
	br := &m.Weights.Branches[mod]
	pre := in
	// Zero-pad the sequence axis to the model's length: pads are
	// [0,0,0, 0,L-len,0] (begins, then ends, per axis).
	length := b.op("Slice", b.op("Shape", in), b.ints("one", 1), b.ints("two", 2))
	missing := b.op("Sub", b.ints(pre+".length", int64(cfg.Lengths.Get(mod))), length)
	pads := b.op("Concat", b.ints("zeros4", 0, 0, 0, 0), missing, b.ints("zero", 0), attrInt("axis", 0))
	x := b.op("Pad", in, pads)

	if n := br.Norm; n != nil {
		// BatchNorm in inference mode as x·scale + shift, with the
		// constants computed as model.Inferencer computes them.
		d := len(n.Weight)
		scale, shift := make([]float32, d), make([]float32, d)
		for j := range d {
			inv := float32(1 / math.Sqrt(float64(n.RunningVar[j])+batchNormEps))
			scale[j] = inv * n.Weight[j]
			shift[j] = n.Bias[j] - n.RunningMean[j]*scale[j]
		}
		x = b.op("Add", b.op("Mul", x, b.floats(pre+".bn.scale", []int64{int64(d)}, scale...)), b.floats(pre+".bn.shift", []int64{int64(d)}, shift...))
	}
	x = b.linear(pre+".proj", x, &br.Proj)
	for i := range br.Layers {
		x = b.layer(pre+".layer"+strconv.Itoa(i), x, &br.Layers[i], cfg.EmbedDim, cfg.Heads)
	}
	// Mean over all positions, then L2 normalisation x / max(‖x‖, 1e-12).
	mean := b.op("ReduceMean", x, attrInts("axes", 1), attrInt("keepdims", 0))
	norm := b.op("ReduceL2", mean, attrInts("axes", 1), attrInt("keepdims", 1))
	norm = b.op("Max", norm, b.floats("l2eps", nil, l2NormEps))
	return b.op("Div", mean, norm)
}

// layer adds one pre-LN Transformer encoder layer on x [batch, L, E].
func (b *builder) layer(pre, x string, l *model.EncoderLayer, e, heads int) string {
	dh := e / heads
	t := b.layerNorm(pre+".norm1", x, &l.Norm1)
	// Separate Q, K and V projections, each [B,L,E] -> [B,H,L,dh] (K as
	// [B,H,dh,L]): the pattern of PyTorch's exports, which ONNX Runtime
	// fuses into its attention kernels.
	var qkv [3]string
	for i := range qkv {
		part := model.Linear{In: e, Out: e, Weight: l.InProj.Weight[i*e*e : (i+1)*e*e], Bias: l.InProj.Bias[i*e : (i+1)*e]}
		y := b.linear(pre+".in_proj."+"qkv"[i:i+1], t, &part)
		qkv[i] = b.op("Reshape", y, b.ints("headshape"+strconv.Itoa(heads), 0, 0, int64(heads), int64(dh)))
	}
	q := b.op("Transpose", qkv[0], attrInts("perm", 0, 2, 1, 3))
	kt := b.op("Transpose", qkv[1], attrInts("perm", 0, 2, 3, 1))
	v := b.op("Transpose", qkv[2], attrInts("perm", 0, 2, 1, 3))
	q = b.op("Mul", q, b.floats("attnscale"+strconv.Itoa(dh), nil, float32(1/math.Sqrt(float64(dh)))))
	scores := b.op("MatMul", q, kt)
	p := b.op("Softmax", scores, attrInt("axis", -1))
	ctx := b.op("Transpose", b.op("MatMul", p, v), attrInts("perm", 0, 2, 1, 3))
	ctx = b.op("Reshape", ctx, b.ints("ctxshape"+strconv.Itoa(e), 0, 0, int64(e)))
	x = b.op("Add", x, b.linear(pre+".out_proj", ctx, &l.OutProj))

	t = b.layerNorm(pre+".norm2", x, &l.Norm2)
	ff := b.op("Relu", b.linear(pre+".linear1", t, &l.Linear1))
	return b.op("Add", x, b.linear(pre+".linear2", ff, &l.Linear2))
}

// topK keeps the k largest of the router logits z [batch, 3] and sets the
// others to -Inf. ONNX TopK lists equal values lower index first, so ties
// keep the lower index, as model.Inferencer does.
func (b *builder) topK(z string, k int) string {
	top := b.node("TopK", []string{z, b.ints("topk", int64(k))}, 2, attrInt("axis", -1), attrInt("largest", 1), attrInt("sorted", 1))
	inf := float32(math.Inf(-1))
	masked := b.op("Expand", b.floats("neginf", []int64{1, model.Experts}, inf, inf, inf), b.op("Shape", z))
	kept := b.op("GatherElements", z, top[1], attrInt("axis", -1))
	return b.op("ScatterElements", masked, top[1], kept, attrInt("axis", -1))
}

// builder appends nodes and initializers to a graph.
type builder struct {
	g     *onnxpb.GraphProto
	n     int
	known map[string]bool
}

// node adds an operator with the given inputs and attributes and returns
// the names of its n outputs.
func (b *builder) node(op string, inputs []string, n int, attrs ...*onnxpb.AttributeProto) []string {
	outs := make([]string, n)
	for i := range outs {
		b.n++
		outs[i] = op + "_" + strconv.Itoa(b.n)
	}
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		Name: proto.String(outs[0]), OpType: proto.String(op),
		Input: inputs, Output: outs, Attribute: attrs,
	})
	return outs
}

// op adds a one-output operator; args are input names (string) and
// attributes (*onnxpb.AttributeProto).
func (b *builder) op(op string, args ...any) string {
	var inputs []string
	var attrs []*onnxpb.AttributeProto
	for _, a := range args {
		switch a := a.(type) {
		case string:
			inputs = append(inputs, a)
		case *onnxpb.AttributeProto:
			attrs = append(attrs, a)
		}
	}
	return b.node(op, inputs, 1, attrs...)[0]
}

// rename gives the output of the last node that produced from the name to.
func (b *builder) rename(from, to string) {
	for i := len(b.g.Node) - 1; i >= 0; i-- {
		for j, o := range b.g.Node[i].Output {
			if o == from {
				b.g.Node[i].Output[j] = to
				return
			}
		}
	}
}

// linear adds x·Wᵀ (+ bias) for x [..., In].
func (b *builder) linear(pre, x string, l *model.Linear) string {
	wt := make([]float32, l.In*l.Out)
	for o := range l.Out {
		for i := range l.In {
			wt[i*l.Out+o] = l.Weight[o*l.In+i]
		}
	}
	y := b.op("MatMul", x, b.floats(pre+".weight_t", []int64{int64(l.In), int64(l.Out)}, wt...))
	if l.Bias != nil {
		y = b.op("Add", y, b.floats(pre+".bias", []int64{int64(l.Out)}, l.Bias...))
	}
	return y
}

func (b *builder) layerNorm(pre, x string, ln *model.LayerNorm) string {
	d := []int64{int64(len(ln.Weight))}
	return b.op("LayerNormalization", x, b.floats(pre+".weight", d, ln.Weight...), b.floats(pre+".bias", d, ln.Bias...),
		attrInt("axis", -1), attrFloat("epsilon", layerNormEps))
}

// floats adds a float32 initializer (dims nil: a scalar) once per name and
// returns its name.
func (b *builder) floats(name string, dims []int64, v ...float32) string {
	if b.seen(name) {
		return name
	}
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw,
	})
	return name
}

// ints adds a 1-D int64 initializer once per name and returns its name.
func (b *builder) ints(name string, v ...int64) string {
	return b.int64s(name, []int64{int64(len(v))}, v...)
}

// index adds the scalar int64 initializer k (a Gather index that drops
// the gathered axis) and returns its name.
func (b *builder) index(k int) string {
	return b.int64s("index"+strconv.Itoa(k), nil, int64(k))
}

func (b *builder) int64s(name string, dims []int64, v ...int64) string {
	if b.seen(name) {
		return name
	}
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), RawData: raw,
	})
	return name
}

func (b *builder) seen(name string) bool {
	if b.known == nil {
		b.known = map[string]bool{}
	}
	if b.known[name] {
		return true
	}
	b.known[name] = true
	return false
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// floatType is a float tensor type; each dim is a fixed size (int64) or a
// symbolic name (string).
func floatType(dims ...any) *onnxpb.TypeProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int64:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape,
	}}}
}
