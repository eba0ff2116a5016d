// Package berttest writes a tiny ONNX model with the interface of a BERT
// export whose output is known in closed form, for tests of the BERT text
// encoder and of the pipelines that select it.
package berttest

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/cmc-stream/cmc-stream/internal/onnxpb"
)

// WriteTiny writes, in a temporary folder of t, an ONNX model with
// BERT's interface (vocab token ids, hidden columns) whose output is
// known in closed form, and returns its path: hidden[t] = E[input_ids[t]]·mask[t] + T[type[t]],
// with E[id][j] = id/1000 + j and T[k][j] = 100·k.
func WriteTiny(t testing.TB, vocab, hidden int) string {
	t.Helper()
	e := make([]float32, vocab*hidden)
	for id := range vocab {
		for j := range hidden {
			e[id*hidden+j] = float32(id)/1000 + float32(j)
		}
	}
	ty := make([]float32, 2*hidden)
	for j := range hidden {
		ty[hidden+j] = 100
	}
	f32 := int32(pb.TensorProto_FLOAT)
	i64 := int32(pb.TensorProto_INT64)
	tensor := func(name string, dims []int64, data []float32) *pb.TensorProto {
		return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(f32), FloatData: data}
	}
	dyn := func(name string, elem int32, dims ...any) *pb.ValueInfoProto {
		var ds []*pb.TensorShapeProto_Dimension
		for _, d := range dims {
			switch v := d.(type) {
			case string:
				ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: v}})
			case int:
				ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}})
			}
		}
		return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(elem), Shape: &pb.TensorShapeProto{Dim: ds}}}}}
	}
	node := func(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
		return &pb.NodeProto{OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
	}
	g := &pb.GraphProto{
		Name: proto.String("tiny-bert"),
		Initializer: []*pb.TensorProto{
			tensor("E", []int64{int64(vocab), int64(hidden)}, e),
			tensor("T", []int64{2, int64(hidden)}, ty),
			{Name: proto.String("axis"), Dims: []int64{1}, DataType: proto.Int32(i64), Int64Data: []int64{2}},
		},
		Node: []*pb.NodeProto{
			node("Gather", []string{"E", "input_ids"}, []string{"words"}),
			node("Gather", []string{"T", "token_type_ids"}, []string{"types"}),
			node("Cast", []string{"attention_mask"}, []string{"maskf"}, &pb.AttributeProto{Name: proto.String("to"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(int64(f32))}),
			node("Unsqueeze", []string{"maskf", "axis"}, []string{"mask3"}),
			node("Mul", []string{"words", "mask3"}, []string{"masked"}),
			node("Add", []string{"masked", "types"}, []string{"last_hidden_state"}),
		},
		Input: []*pb.ValueInfoProto{
			dyn("input_ids", i64, "batch", "tokens"), dyn("attention_mask", i64, "batch", "tokens"), dyn("token_type_ids", i64, "batch", "tokens"),
		},
		Output: []*pb.ValueInfoProto{dyn("last_hidden_state", f32, "batch", "tokens", hidden)},
	}
	m := &pb.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*pb.OperatorSetIdProto{{Version: proto.Int64(13)}}, ProducerName: proto.String("cmc-stream test"), Graph: g}
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny-bert.onnx")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
