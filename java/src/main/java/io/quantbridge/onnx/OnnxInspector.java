package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Reads what a model holds: its quantized layers (for {@code inspect}) or a plain summary. */
public final class OnnxInspector {
    private OnnxInspector() {
    }

    /**
     * The quantized layers, in graph order: the nodes whose weight is a DequantizeLinear of an
     * int8/uint8 initializer, with their data input when it is a DequantizeLinear of a
     * QuantizeLinear output. Nodes that only read quantized tensors (a ReLU, pool or add after a
     * derived quantization point) are not layers. Scales and zero points are read from
     * initializers or Constant nodes.
     */
    public static List<QuantizedNode> quantizedLayers(ModelProto model) {
        GraphProto g = model.getGraph();
        Map<String, TensorProto> consts = new HashMap<>();
        g.getInitializerList().forEach(t -> consts.put(t.getName(), t));
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            n.getOutputList().forEach(o -> producer.put(o, n));
            if (n.getOpType().equals("Constant") && n.getOutputCount() == 1) {
                for (AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT()) {
                        consts.put(n.getOutput(0), a.getT());
                    }
                }
            }
        }
        List<QuantizedNode> out = new ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            if (Set.of("QuantizeLinear", "DequantizeLinear", "Constant").contains(n.getOpType())) {
                continue;
            }
            QuantizedTensor weight = null;
            QuantizedTensor activation = null;
            for (String in : n.getInputList()) {
                NodeProto dq = producer.get(in);
                if (dq == null || !dq.getOpType().equals("DequantizeLinear") || dq.getInputCount() < 2) {
                    continue;
                }
                String src = dq.getInput(0);
                TensorProto data = consts.get(src);
                if (data != null && weight == null && isByte(data.getDataType())) {
                    weight = describe(src, data.getDataType(), Tensors.dims(data), dq, consts);
                } else if (producer.containsKey(src) && producer.get(src).getOpType().equals("QuantizeLinear")
                        && activation == null) {
                    NodeProto q = producer.get(src);
                    TensorProto zp = dq.getInputCount() > 2 ? consts.get(dq.getInput(2)) : null;
                    int type = zp == null ? TensorProto.DataType.UINT8_VALUE : zp.getDataType();
                    activation = describe(q.getInput(0), type, new long[0], dq, consts);
                }
            }
            if (weight != null) {
                out.add(new QuantizedNode(n.getName(), n.getOpType(), weight, activation));
            }
        }
        return out;
    }

    /** A plain summary: node counts per op type, Conv/Gemm/MatMul counts, BatchNormalization left, Q/DQ counts. */
    public static ModelSummary summary(ModelProto model) {
        GraphProto g = model.getGraph();
        Map<String, Integer> counts = new HashMap<>();
        g.getNodeList().forEach(n -> counts.merge(n.getOpType(), 1, Integer::sum));
        Map<String, Integer> sorted = counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                        .thenComparing(Map.Entry.comparingByKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
        Set<String> inits = g.getInitializerList().stream().map(TensorProto::getName).collect(Collectors.toSet());
        List<String> inputs = g.getInputList().stream().map(v -> v.getName()).filter(n -> !inits.contains(n)).toList();
        List<String> outputs = g.getOutputList().stream().map(v -> v.getName()).toList();
        return new ModelSummary(model.getIrVersion(), OnnxModels.opset(model).orElse(-1),
                (model.getProducerName() + " " + model.getProducerVersion()).strip(), g.getNodeCount(), sorted,
                counts.getOrDefault("Conv", 0) + counts.getOrDefault("ConvTranspose", 0),
                counts.getOrDefault("Gemm", 0), counts.getOrDefault("MatMul", 0),
                counts.containsKey("BatchNormalization"), counts.getOrDefault("QuantizeLinear", 0),
                counts.getOrDefault("DequantizeLinear", 0), g.getInitializerCount(), inputs, outputs);
    }

    private static boolean isByte(int type) {
        return type == TensorProto.DataType.INT8_VALUE || type == TensorProto.DataType.UINT8_VALUE;
    }

    private static QuantizedTensor describe(String tensor, int zpType, long[] dims, NodeProto dq,
                                            Map<String, TensorProto> consts) {
        TensorProto scale = consts.get(dq.getInput(1));
        TensorProto zp = dq.getInputCount() > 2 ? consts.get(dq.getInput(2)) : null;
        List<Double> scales = new ArrayList<>();
        if (scale != null && scale.getDataType() == TensorProto.DataType.FLOAT_VALUE && !Tensors.isExternal(scale)) {
            for (float f : Tensors.floats(scale)) {
                scales.add((double) f);
            }
        }
        List<Integer> zps = new ArrayList<>();
        if (zp != null && isByte(zp.getDataType()) && !Tensors.isExternal(zp)) {
            for (int z : Tensors.bytesAsInts(zp)) {
                zps.add(z);
            }
        } else {
            scales.forEach(s -> zps.add(0));
        }
        Integer axis = null;
        if (scale != null && scale.getDimsCount() == 1 && scales.size() > 1) {
            axis = 1; // the DequantizeLinear default
            for (AttributeProto a : dq.getAttributeList()) {
                if (a.getName().equals("axis")) {
                    axis = (int) a.getI();
                }
            }
        }
        List<Long> shape = new ArrayList<>();
        for (long d : dims) {
            shape.add(d);
        }
        String dtype = zpType == TensorProto.DataType.INT8_VALUE ? "int8" : "uint8";
        return new QuantizedTensor(tensor, dtype, shape, axis, scales, zps);
    }
}
