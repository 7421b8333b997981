package io.quantbridge.onnx;

import io.quantbridge.json.PythonRepr;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Strategies;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.PointParams;
import io.quantbridge.params.QParamMath;
import io.quantbridge.params.WeightParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/** One QDQ rewrite of a graph: collects the per-layer changes, then assembles the new graph. */
final class QdqRewrite {
    /** Q/DQ nodes to insert before the first node that reads their output. */
    private static final class Inserted {
        final String output;
        final List<NodeProto> nodes;
        int firstConsumer;

        Inserted(String output, List<NodeProto> nodes, int firstConsumer) {
            this.output = output;
            this.nodes = new ArrayList<>(nodes);
            this.firstConsumer = firstConsumer;
        }
    }

    private final GraphProto graph;
    private final List<NodeProto.Builder> nodes = new ArrayList<>();
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final OnnxContext ctx;
    private final Map<String, Inserted> inserted = new LinkedHashMap<>();
    /** Quantized weight initializers (int8 data, scales, zero points) by initializer, axis and scales. */
    private final Map<String, List<String>> quantizedWeights = new HashMap<>();
    private final List<TensorProto> added = new ArrayList<>();
    private final Set<String> replacedWeights = new HashSet<>();
    private final Map<Integer, String> owners = new HashMap<>();
    /** Per quantized node: the activation scale of its data input and the scales of its weight. */
    private final Map<Integer, float[]> weightScalesOf = new HashMap<>();
    private final Map<Integer, Float> activationScaleOf = new HashMap<>();
    private final Map<String, List<String>> quantizedBiases = new HashMap<>();
    /** Tensors quantized as derived points. */
    private final Set<String> pointTensors = new HashSet<>();
    /** Nodes of layers the parameters mark for an int32 bias ({@link LayerParams#int32Bias}). */
    private final Set<Integer> int32BiasNodes = new HashSet<>();

    private final WeightType weightType;

    QdqRewrite(GraphProto graph, WeightType weightType) {
        this.graph = graph;
        this.weightType = Objects.requireNonNull(weightType, "weightType");
        graph.getNodeList().forEach(n -> nodes.add(n.toBuilder()));
        graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        this.ctx = OnnxContext.of(graph);
    }

    /**
     * Quantizes one layer at each of its nodes (a module called several times has one node per call):
     * the activation Q/DQ on each node's data input (one pair per distinct tensor and parameters), the
     * weight DQ per weight initializer (shared by the nodes reading it). Fails if another layer
     * already took one of its nodes; returns the indices of its nodes.
     */
    List<Integer> apply(LayerParams layer) throws QuantBridgeException {
        String name = PythonRepr.of(layer.name());
        if (!Strategies.INT8.equals(layer.quantStrategy())) {
            throw new QuantBridgeException("layer " + name + ": quant_strategy " + PythonRepr.of(layer.quantStrategy())
                    + " cannot be exported to QDQ ONNX; expected 'float' or 'Quant_INT8-8'");
        }
        if (layer.weight() == null || layer.activation() == null) {
            throw new QuantBridgeException("layer " + name + " is quantized (" + layer.quantStrategy() + ") but has no "
                    + (layer.weight() == null ? "weight" : "activation") + " parameters; expected both "
                    + "(calibrate or train the quant model before export)");
        }
        List<Integer> found = findNodes(layer);
        for (int idx : found) {
            String other = owners.putIfAbsent(idx, layer.name());
            if (other != null) {
                throw new QuantBridgeException("layers " + PythonRepr.of(other) + " and " + name + " both map to node "
                        + PythonRepr.of(nodes.get(idx).getName()) + "; expected one layer per node");
            }
        }
        for (int idx : found) {
            NodeProto.Builder node = nodes.get(idx);
            int w = weightInput(node, layer);
            int a = activationInput(node, layer, w);
            node.setInput(w, quantizeWeight(layer, node, w, idx));
            node.setInput(a, quantizeActivation(layer, node.getInput(a), idx));
            activationScaleOf.put(idx, (float) layer.activation().scale());
            if (layer.int32Bias()) {
                int32BiasNodes.add(idx);
            }
        }
        return found;
    }

    /**
     * Quantizes a derived point: one QuantizeLinear/DequantizeLinear pair on its tensor (the pair a
     * layer already put on that tensor with the same parameters, if any), read by every consumer of
     * the tensor, including the QuantizeLinear of a layer input with other parameters (a requantization).
     */
    void applyPoint(PointParams point) throws QuantBridgeException {
        String t = point.tensor();
        String where = "point " + PythonRepr.of(point.name());
        List<Integer> readers = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getInputList().contains(t)) {
                readers.add(i);
            }
        }
        List<Inserted> readingPairs = new ArrayList<>();
        for (Inserted ins : inserted.values()) {
            if (ins.nodes.get(0).getInputList().contains(t)) {
                readingPairs.add(ins);
            }
        }
        if (readers.isEmpty() && readingPairs.isEmpty()) {
            throw new QuantBridgeException(where + ": no node of the float model reads tensor " + PythonRepr.of(t)
                    + "; expected the tensor name recorded at export (was the float model changed?)");
        }
        String key = activationKey(t, point.quant(), where);
        pointTensors.add(t);
        Inserted pair = inserted.get(key);
        if (pair == null) {
            int first = readers.isEmpty() ? Integer.MAX_VALUE : readers.get(0);
            for (Inserted ins : readingPairs) {
                first = Math.min(first, ins.firstConsumer);
            }
            pair = newPair(t, point.quant(), first);
            inserted.put(key, pair);
        }
        String dq = pair.output;
        for (int i : readers) {
            NodeProto.Builder n = nodes.get(i);
            for (int k = 0; k < n.getInputCount(); k++) {
                if (n.getInput(k).equals(t)) {
                    n.setInput(k, dq);
                }
            }
        }
        for (Inserted ins : readingPairs) {
            if (ins != pair) {
                NodeProto q = ins.nodes.get(0);
                NodeProto.Builder b = q.toBuilder();
                for (int k = 0; k < b.getInputCount(); k++) {
                    if (b.getInput(k).equals(t)) {
                        b.setInput(k, dq);
                    }
                }
                ins.nodes.set(0, b.build());
                pair.firstConsumer = Math.min(pair.firstConsumer, ins.firstConsumer);
            }
        }
    }

    /**
     * Replaces the float bias of each quantized Conv and Gemm whose output is quantized (directly or
     * through a Relu/Clip) by an int32 initializer with scale {@code s_x * s_w[c]} behind a
     * DequantizeLinear, the form ONNX Runtime fuses into an integer kernel
     * ({@code round(b / (s_x * s_w[c]))}, saturated to int32). Only nodes whose output is a derived
     * point qualify, and every node of a layer the parameters mark {@code int32_bias} (the shim
     * computes that layer with the int32 bias: requantized straight to the input of the layer that
     * alone reads a ReLU after it, or as ONNX Runtime's {@code QGemm} with a float output,
     * {@code float(int32 accumulator) * s_x * s_w[c]}). Any other node whose output stays float
     * (every node of a version-1 parameter file) keeps its float bias, as no integer kernel can run it.
     */
    void quantizeBiases() throws QuantBridgeException {
        for (Map.Entry<Integer, Float> e : activationScaleOf.entrySet()) {
            int idx = e.getKey();
            NodeProto.Builder node = nodes.get(idx);
            String op = node.getOpType();
            if (!(op.equals("Conv") || op.equals("Gemm")) || node.getInputCount() < 3 || node.getInput(2).isEmpty()
                    || !(outputQuantized(node) || int32BiasNodes.contains(idx))) {
                continue;
            }
            TensorProto b = initializers.get(node.getInput(2));
            float[] ws = weightScalesOf.get(idx);
            if (b == null || ws == null || b.getDataType() != TensorProto.DataType.FLOAT_VALUE || b.getDimsCount() != 1) {
                continue;
            }
            long n = b.getDims(0);
            if (ws.length != 1 && ws.length != n) {
                continue;
            }
            float sx = e.getValue();
            float[] scale = new float[(int) n];
            for (int c = 0; c < n; c++) {
                scale[c] = sx * ws[ws.length == 1 ? 0 : c];
            }
            String key = "b|" + b.getName() + "|" + Arrays.toString(scale);
            List<String> qsz = quantizedBiases.get(key);
            if (qsz == null) {
                float[] values;
                try {
                    values = Tensors.floats(b);
                } catch (IllegalArgumentException ex) {
                    throw new QuantBridgeException("bias " + PythonRepr.of(b.getName()) + ": " + ex.getMessage(), ex);
                }
                int[] q = new int[values.length];
                for (int c = 0; c < q.length; c++) {
                    double v = Math.rint((double) values[c] / scale[c]);
                    q[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
                }
                TensorProto qT = ctx.int32Initializer(b.getName() + "_quantized", q, n);
                TensorProto sT = ctx.floatInitializer(b.getName() + "_scale", scale, n);
                TensorProto zT = ctx.int32Initializer(b.getName() + "_zero_point", new int[(int) n], n);
                added.addAll(List.of(qT, sT, zT));
                qsz = List.of(qT.getName(), sT.getName(), zT.getName());
                quantizedBiases.put(key, qsz);
                replacedWeights.add(b.getName());
            }
            // one DequantizeLinear per node, as for weights (ONNX Runtime mishandles a shared one)
            String dqOut = ctx.uniqueName(b.getName() + "_dequantized");
            NodeProto dq = ctx.node("DequantizeLinear", b.getName() + "_DequantizeLinear", qsz, List.of(dqOut),
                    OnnxContext.intAttribute("axis", 0));
            inserted.put("b|" + dqOut, new Inserted(dqOut, List.of(dq), idx));
            node.setInput(2, dqOut);
        }
    }

    private List<Integer> findNodes(LayerParams layer) throws QuantBridgeException {
        List<String> names = layer.nodeNames();
        if (names.size() > 1) {
            List<Integer> out = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (String n : names) {
                int i = indexOf(n);
                if (i < 0) {
                    missing.add(n);
                } else {
                    out.add(i);
                }
            }
            if (!missing.isEmpty()) {
                throw new QuantBridgeException("layer " + PythonRepr.of(layer.name()) + ": the float model has no node "
                        + "named " + PythonRepr.of(missing) + " (of the layer's nodes " + PythonRepr.of(names)
                        + "); expected the node names recorded at export");
            }
            return out;
        }
        return List.of(findNode(layer));
    }

    private int indexOf(String nodeName) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getName().equals(nodeName)) {
                return i;
            }
        }
        return -1;
    }

    private int findNode(LayerParams layer) throws QuantBridgeException {
        if (layer.node() != null) {
            int i = indexOf(layer.node());
            if (i >= 0) {
                return i;
            }
        }
        String tensor = layer.weight().tensor();
        List<Integer> readers = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto.Builder n = nodes.get(i);
            if (!n.getOpType().endsWith("QuantizeLinear") && n.getInputList().contains(tensor)) {
                readers.add(i);
            }
        }
        if (readers.size() == 1) {
            return readers.get(0);
        }
        String what = "layer " + PythonRepr.of(layer.name()) + ": the float model has no node named "
                + PythonRepr.of(layer.node());
        if (readers.isEmpty()) {
            List<String> sample = nodes.stream()
                    .filter(n -> List.of("Conv", "ConvTranspose", "Gemm", "MatMul").contains(n.getOpType()))
                    .map(NodeProto.Builder::getName).limit(8).toList();
            throw new QuantBridgeException(what + " and no node reads its weight " + PythonRepr.of(tensor)
                    + "; expected the node and weight names recorded at export (Conv/ConvTranspose/Gemm/MatMul nodes "
                    + "of the model: " + PythonRepr.of(sample) + ")");
        }
        throw new QuantBridgeException(what + " and " + readers.size() + " nodes read its weight " + PythonRepr.of(tensor)
                + " (" + PythonRepr.of(readers.stream().map(i -> nodes.get(i).getName()).toList())
                + "); expected the node name to tell them apart");
    }

    private static int weightInput(NodeProto.Builder node, LayerParams layer) throws QuantBridgeException {
        int i = node.getInputList().indexOf(layer.weight().tensor());
        if (i >= 0) {
            return i;
        }
        for (WeightParams c : layer.weight().copies()) {
            i = node.getInputList().indexOf(c.tensor());
            if (i >= 0) {
                return i;
            }
        }
        if (node.getInputCount() >= 2) {
            return 1; // the weight input of Conv, ConvTranspose, Gemm and MatMul
        }
        throw new QuantBridgeException("layer " + PythonRepr.of(layer.name()) + ": node " + PythonRepr.of(node.getName())
                + " (" + node.getOpType() + ") has inputs " + PythonRepr.of(node.getInputList())
                + "; expected a weight input such as " + PythonRepr.of(layer.weight().tensor()));
    }

    private static int activationInput(NodeProto.Builder node, LayerParams layer, int weight)
            throws QuantBridgeException {
        int i = node.getInputList().indexOf(layer.activation().tensor());
        if (i >= 0 && i != weight) {
            return i;
        }
        if (weight != 0) {
            return 0; // the data input of Conv, ConvTranspose, Gemm and MatMul
        }
        throw new QuantBridgeException("layer " + PythonRepr.of(layer.name()) + ": node " + PythonRepr.of(node.getName())
                + " reads its weight as input 0; expected the activation " + PythonRepr.of(layer.activation().tensor())
                + " among its other inputs " + PythonRepr.of(node.getInputList()));
    }

    private String quantizeWeight(LayerParams layer, NodeProto.Builder node, int input, int idx)
            throws QuantBridgeException {
        String where = "layer " + PythonRepr.of(layer.name());
        String wName = node.getInput(input);
        // the entry for the initializer this node reads: the weight, one of its copies, else the weight's
        WeightParams wp = layer.weight().forTensor(wName);
        if (wp == null) {
            wp = layer.weight();
        }
        TensorProto init = initializers.get(wName);
        if (init == null) {
            throw new QuantBridgeException(where + ": weight " + PythonRepr.of(wName) + " of node "
                    + PythonRepr.of(node.getName()) + " is not an initializer of the float model; expected a constant "
                    + "float weight tensor" + (wName.equals(wp.tensor()) ? "" : " (the parameters name "
                    + PythonRepr.of(wp.tensor()) + ")"));
        }
        if (init.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new QuantBridgeException(where + ": weight initializer " + PythonRepr.of(wName) + " has data type "
                    + QdqBuilder.typeName(init.getDataType()) + "; expected FLOAT (is the model quantized already?)");
        }
        if (!"int8".equals(wp.dtype()) || wp.bits() != 8) {
            throw new QuantBridgeException(where + ": weight dtype " + PythonRepr.of(wp.dtype()) + " with " + wp.bits()
                    + " bits; expected 'int8' with 8 bits");
        }
        if (Arrays.stream(wp.zeroPoints()).anyMatch(z -> z != 0)) {
            throw new QuantBridgeException(where + ": weight zero points " + wp.zeroPoint()
                    + "; expected all 0 (symmetric int8 weights)");
        }
        long[] dims = Tensors.dims(init);
        if (wp.multiAxis()) {
            throw new QuantBridgeException(where + ": weight " + wp.tensor() + " has channels along axes " + wp.channelAxes()
                    + "; an ONNX DequantizeLinear takes one axis");
        }
        int axis = wp.axis() < 0 ? wp.axis() + dims.length : wp.axis();
        if (axis < 0 || axis >= dims.length) {
            throw new QuantBridgeException(where + ": weight.axis " + wp.axis() + " is out of range for weight "
                    + PythonRepr.of(wName) + " of shape " + Arrays.toString(dims));
        }
        float[] scales = wp.scales();
        long channels = dims[axis];
        if (scales.length != channels && scales.length != 1) {
            throw new QuantBridgeException(where + ": weight " + PythonRepr.of(wName) + " has shape "
                    + Arrays.toString(dims) + ", i.e. " + channels + " channels along axis " + axis
                    + ", but the parameters give " + scales.length + " scales; expected one scale per channel");
        }
        for (int c = 0; c < scales.length; c++) {
            if (!(scales[c] > 0) || Float.isInfinite(scales[c])) {
                throw new QuantBridgeException(where + ": weight scale[" + c + "] is " + scales[c]
                        + "; expected a positive finite number");
            }
        }
        weightScalesOf.put(idx, scales);
        String key = "w|" + wName + "|" + axis + "|" + Arrays.toString(scales);
        List<String> qsz = quantizedWeights.get(key);
        boolean perAxis = scales.length == channels;
        if (qsz == null) {
            float[] w;
            try {
                w = Tensors.floats(init);
            } catch (IllegalArgumentException e) {
                throw new QuantBridgeException(where + ": " + e.getMessage(), e);
            }
            byte[] q = perAxis ? QParamMath.quantizeSymmetric(w, dims, axis, scales)
                    : QParamMath.quantizeSymmetric(w, new long[] {1, w.length}, 0, scales);
            TensorProto sT = perAxis ? ctx.floatInitializer(wName + "_scale", scales, channels)
                    : ctx.floatInitializer(wName + "_scale", scales);
            TensorProto qT;
            TensorProto zT;
            if (weightType == WeightType.UINT8) {
                // the same codes offset by 128: (q + 128 - 128) * s dequantizes to the same values
                int[] u = new int[q.length];
                for (int i = 0; i < q.length; i++) {
                    u[i] = q[i] + 128;
                }
                int[] zeros = new int[scales.length];
                Arrays.fill(zeros, 128);
                qT = ctx.uint8Initializer(wName + "_quantized", u, dims);
                zT = perAxis ? ctx.uint8Initializer(wName + "_zero_point", zeros, channels)
                        : ctx.uint8Initializer(wName + "_zero_point", zeros);
            } else {
                qT = ctx.int8Initializer(wName + "_quantized", q, dims);
                zT = perAxis ? ctx.int8Initializer(wName + "_zero_point", new byte[scales.length], channels)
                        : ctx.int8Initializer(wName + "_zero_point", new byte[1]);
            }
            added.addAll(List.of(qT, sT, zT));
            qsz = List.of(qT.getName(), sT.getName(), zT.getName());
            quantizedWeights.put(key, qsz);
            replacedWeights.add(wName);
        }
        // The int8 weight is shared; each consuming node gets its own DequantizeLinear (ONNX Runtime
        // 1.15 CPU computes a second Conv wrongly when a per-axis DequantizeLinear output feeds two Convs).
        String out = ctx.uniqueName(wName + "_dequantized");
        NodeProto dq = perAxis
                ? ctx.node("DequantizeLinear", wName + "_DequantizeLinear", qsz, List.of(out),
                        OnnxContext.intAttribute("axis", axis))
                : ctx.node("DequantizeLinear", wName + "_DequantizeLinear", qsz, List.of(out));
        inserted.put("w|" + out, new Inserted(out, List.of(dq), idx));
        return out;
    }

    private String quantizeActivation(LayerParams layer, String x, int idx) throws QuantBridgeException {
        ActivationParams ap = layer.activation();
        String key = activationKey(x, ap, "layer " + PythonRepr.of(layer.name()));
        Inserted shared = inserted.get(key);
        if (shared != null) {
            shared.firstConsumer = Math.min(shared.firstConsumer, idx);
            return shared.output;
        }
        Inserted pair = newPair(x, ap, idx);
        inserted.put(key, pair);
        return pair.output;
    }

    /** Checks activation parameters; the key of a Q/DQ pair on {@code x} with them. */
    private static String activationKey(String x, ActivationParams ap, String where) throws QuantBridgeException {
        float scale = (float) ap.scale();
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new QuantBridgeException(where + ": activation scale is " + ap.scale()
                    + "; expected a positive finite number (was the model calibrated?)");
        }
        boolean unsigned = "uint8".equals(ap.dtype());
        if ((!unsigned && !"int8".equals(ap.dtype())) || (ap.bits() != 8 && ap.bits() != 7)) {
            throw new QuantBridgeException(where + ": activation dtype " + PythonRepr.of(ap.dtype()) + " with "
                    + ap.bits() + " bits; expected 'uint8' (or 'int8') with 8 bits (7 with reduce_range)");
        }
        int lo = unsigned ? 0 : -128;
        int hi = unsigned ? 255 : 127;
        if (ap.zeroPoint() < lo || ap.zeroPoint() > hi) {
            throw new QuantBridgeException(where + ": activation zero_point " + ap.zeroPoint() + " is outside "
                    + lo + ".." + hi + " for dtype " + ap.dtype());
        }
        return "a|" + x + "|" + Float.floatToIntBits(scale) + "|" + ap.zeroPoint() + "|" + ap.dtype();
    }

    /** A new QuantizeLinear/DequantizeLinear pair on {@code x}, placed before node {@code idx}. */
    private Inserted newPair(String x, ActivationParams ap, int idx) {
        boolean unsigned = "uint8".equals(ap.dtype());
        TensorProto sT = ctx.floatInitializer(x + "_scale", new float[] {(float) ap.scale()});
        TensorProto zT = unsigned ? ctx.uint8Initializer(x + "_zero_point", new int[] {ap.zeroPoint()})
                : ctx.int8Initializer(x + "_zero_point", new byte[] {(byte) ap.zeroPoint()});
        added.addAll(List.of(sT, zT));
        String qOut = ctx.uniqueName(x + "_quantized");
        String dqOut = ctx.uniqueName(x + "_dequantized");
        NodeProto q = ctx.node("QuantizeLinear", x + "_QuantizeLinear", List.of(x, sT.getName(), zT.getName()),
                List.of(qOut));
        NodeProto dq = ctx.node("DequantizeLinear", x + "_DequantizeLinear", List.of(qOut, sT.getName(), zT.getName()),
                List.of(dqOut));
        return new Inserted(dqOut, List.of(q, dq), idx);
    }

    /** Whether {@code node}'s output is a derived point, directly or after one Relu/Clip. */
    private boolean outputQuantized(NodeProto.Builder node) {
        if (node.getOutputCount() != 1) {
            return false;
        }
        String out = node.getOutput(0);
        if (quantizerReads(out)) {
            return true;
        }
        for (NodeProto.Builder n : nodes) {
            if ((n.getOpType().equals("Relu") || n.getOpType().equals("Clip")) && n.getInputCount() >= 1
                    && n.getInput(0).equals(out) && quantizerReads(n.getOutput(0))) {
                return true;
            }
        }
        return false;
    }

    private boolean quantizerReads(String tensor) {
        return pointTensors.contains(tensor);
    }

    /**
     * {@code nodes} in an order where each node comes after the producers of its inputs, keeping the
     * given order where it already is one (inserted pairs may read a tensor produced after them).
     */
    private List<NodeProto> topological(List<NodeProto> list) {
        Set<String> available = new HashSet<>(initializers.keySet());
        added.forEach(t -> available.add(t.getName()));
        graph.getInputList().forEach(v -> available.add(v.getName()));
        available.add("");
        Set<String> produced = new HashSet<>();
        list.forEach(n -> produced.addAll(n.getOutputList()));
        List<NodeProto> out = new ArrayList<>(list.size());
        List<NodeProto> pending = new ArrayList<>(list);
        while (!pending.isEmpty()) {
            int pick = -1;
            for (int i = 0; i < pending.size() && pick < 0; i++) {
                NodeProto n = pending.get(i);
                boolean ready = true;
                for (String in : n.getInputList()) {
                    if (!available.contains(in) && produced.contains(in)) {
                        ready = false;
                        break;
                    }
                }
                if (ready) {
                    pick = i;
                }
            }
            if (pick < 0) {
                out.addAll(pending);      // a cycle through subgraphs: keep the rest as it is
                break;
            }
            NodeProto n = pending.remove(pick);
            available.addAll(n.getOutputList());
            out.add(n);
        }
        return out;
    }

    /** The rewritten graph: nodes in order with Q/DQ inserted, unused float weights dropped. */
    GraphProto result() {
        Map<Integer, List<NodeProto>> before = new TreeMap<>();
        for (Inserted ins : inserted.values()) {
            before.computeIfAbsent(ins.firstConsumer, k -> new ArrayList<>()).addAll(ins.nodes);
        }
        GraphProto.Builder g = graph.toBuilder().clearNode();
        List<NodeProto> ordered = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            ordered.addAll(before.getOrDefault(i, List.of()));
            ordered.add(nodes.get(i).build());
        }
        g.addAllNode(topological(ordered));
        Set<String> used = QdqBuilder.usedNames(g.build());
        Set<String> drop = new HashSet<>(replacedWeights);
        drop.removeAll(used);
        g.clearInitializer();
        for (TensorProto t : initializers.values()) {
            if (!drop.contains(t.getName())) {
                g.addInitializer(t);
            }
        }
        g.addAllInitializer(added);
        List<ai.onnx.proto.OnnxMl.ValueInfoProto> inputs = new ArrayList<>(g.getInputList());
        inputs.removeIf(v -> drop.contains(v.getName()));
        g.clearInput().addAllInput(inputs);
        List<ai.onnx.proto.OnnxMl.ValueInfoProto> infos = new ArrayList<>(g.getValueInfoList());
        infos.removeIf(v -> drop.contains(v.getName()));
        g.clearValueInfo().addAllValueInfo(infos);
        return g.build();
    }
}
