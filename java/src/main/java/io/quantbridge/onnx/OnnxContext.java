package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.GraphProtoOrBuilder;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The builder layer for ONNX graphs: owns the set of names in use (nodes, tensors,
 * initializers, inputs, outputs share one namespace here) and makes initializers, nodes and
 * value infos with fresh names. It creates messages; the caller decides where they go.
 */
public final class OnnxContext {
    /** IR version written by {@link #model}: 7 (ONNX 1.8), the first that knows opset 13. */
    public static final long IR_VERSION = 7;
    /** Producer name recorded in models QuantBridge writes. */
    public static final String PRODUCER = "QuantBridge";

    private final Set<String> names = new HashSet<>();

    /** A context with no names in use (for a new graph). */
    public OnnxContext() {
    }

    /** A context that knows every name already used in {@code graph} (and its subgraphs). */
    public static OnnxContext of(GraphProtoOrBuilder graph) {
        OnnxContext ctx = new OnnxContext();
        ctx.collect(graph);
        return ctx;
    }

    private void collect(GraphProtoOrBuilder g) {
        g.getInputList().forEach(v -> names.add(v.getName()));
        g.getOutputList().forEach(v -> names.add(v.getName()));
        g.getValueInfoList().forEach(v -> names.add(v.getName()));
        g.getInitializerList().forEach(t -> names.add(t.getName()));
        for (NodeProto n : g.getNodeList()) {
            names.add(n.getName());
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    collect(a.getG());
                }
                a.getGraphsList().forEach(this::collect);
            }
        }
        names.remove("");
    }

    /** {@code base} if unused, else {@code base_1}, {@code base_2}, ...; the name is then in use. */
    public String uniqueName(String base) {
        String b = base == null || base.isEmpty() ? "t" : base;
        String name = b;
        for (int i = 1; names.contains(name); i++) {
            name = b + "_" + i;
        }
        names.add(name);
        return name;
    }

    /** True if {@code name} is in use. */
    public boolean isUsed(String name) {
        return names.contains(name);
    }

    /** A FLOAT initializer named {@link #uniqueName uniqueName(base)}. */
    public TensorProto floatInitializer(String base, float[] data, long... dims) {
        return Tensors.floatTensor(uniqueName(base), data, dims);
    }

    /** An INT8 initializer named {@link #uniqueName uniqueName(base)}. */
    public TensorProto int8Initializer(String base, byte[] data, long... dims) {
        return Tensors.int8Tensor(uniqueName(base), data, dims);
    }

    /** An INT32 initializer named {@link #uniqueName uniqueName(base)}. */
    public TensorProto int32Initializer(String base, int[] data, long... dims) {
        return Tensors.int32Tensor(uniqueName(base), data, dims);
    }

    /** A UINT8 initializer named {@link #uniqueName uniqueName(base)} (values 0..255). */
    public TensorProto uint8Initializer(String base, int[] data, long... dims) {
        return Tensors.uint8Tensor(uniqueName(base), data, dims);
    }

    /**
     * A node of the default domain named {@link #uniqueName uniqueName(nameBase)}.
     *
     * @param inputs input tensor names (use {@code ""} for an omitted optional input)
     * @param outputs output tensor names (reserve them with {@link #uniqueName} first)
     */
    public NodeProto node(String opType, String nameBase, List<String> inputs, List<String> outputs,
                          AttributeProto... attributes) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(opType).setName(uniqueName(nameBase))
                .addAllInput(inputs).addAllOutput(outputs);
        for (AttributeProto a : attributes) {
            b.addAttribute(a);
        }
        outputs.forEach(names::add);
        return b.build();
    }

    /** An INT attribute. */
    public static AttributeProto intAttribute(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    /** An INTS attribute. */
    public static AttributeProto intsAttribute(String name, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return b.build();
    }

    /** A FLOAT attribute. */
    public static AttributeProto floatAttribute(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    /**
     * A tensor value info; a negative dimension is written as the symbolic dimension {@code "N"}
     * (and no dims at all means an unknown shape).
     */
    public static ValueInfoProto tensorInfo(String name, TensorProto.DataType type, long... dims) {
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(type.getNumber());
        if (dims.length > 0) {
            TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
            for (long d : dims) {
                s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                        : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            t.setShape(s);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(t)).build();
    }

    /** A model around {@code graph}: IR version {@value #IR_VERSION}, default-domain {@code opset}, producer QuantBridge. */
    public static ModelProto model(GraphProto graph, long opset) {
        return ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName(PRODUCER)
                .setProducerVersion(QdqBuilder.producerVersion())
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph).build();
    }
}
