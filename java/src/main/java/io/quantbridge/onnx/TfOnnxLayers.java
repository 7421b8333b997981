package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.json.PythonRepr;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ModelInfo;
import io.quantbridge.params.PointParams;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads a TensorFlow parameter file against the float ONNX that tf2onnx made of the same export,
 * so that {@link QdqBuilder} builds the INT8 ONNX of a TensorFlow model as it does for PyTorch.
 *
 * <p>The file names TF ops and Consts; tf2onnx renames nodes (a Conv2D fused with its BiasAdd
 * takes the BiasAdd's name) but keeps each weight Const as the initializer {@code <const>:0},
 * transposed to ONNX's layout. A layer is therefore found by the one Conv/MatMul/Gemm node that
 * reads its weight initializer; its activation is that node's data input (after the NHWC to NCHW
 * Transpose where tf2onnx kept one: quantizing commutes with a transpose). The weight's channel
 * axis becomes the output-channel axis of the ONNX layout: 0 for Conv (HWIO to OIHW; a depthwise
 * filter {@code [h, w, in, mult]} to {@code [in*mult, 1, h, w]}, whose channel order is the
 * file's in-major, mult-minor order), 1 for MatMul, 0 or 1 for Gemm by {@code transB}. The
 * scales, zero points and activation parameters are the file's, unchanged.
 *
 * <p>A point of a TensorFlow file (the shim's {@code quantbridge.tf._integer}) is named after the
 * quantized layer whose output it requantizes and owned by the quantized layer whose input
 * parameters it takes. Its ONNX tensor is the output of the layer's node, found by walking back
 * from the owner's activation tensor through the ops tf2onnx makes of the chain between them
 * ({@value #CHAIN_DESCRIPTION}), each read by the next one only; the parameters stay the file's.
 */
public final class TfOnnxLayers {
    private static final List<String> KERNELS = List.of("Conv", "MatMul", "Gemm");
    private static final String CHAIN_DESCRIPTION = "Relu, Clip, MaxPool, Reshape, Transpose, Identity";
    private static final List<String> CHAIN = List.of("Relu", "Clip", "MaxPool", "Reshape", "Transpose", "Identity",
            "Flatten", "Squeeze", "Unsqueeze");

    private TfOnnxLayers() {
    }

    /**
     * The parameters of {@code tf} with each quantized layer's node, weight, axis and activation
     * tensor named as in {@code floatOnnx}; layers at {@code float} are kept as they are.
     *
     * @param modelFile the file name of {@code floatOnnx}, recorded as the parameters' model
     * @param sha256 its SHA-256
     * @throws QuantBridgeException if the parameters are not TensorFlow's, or a quantized layer's
     *     weight is read by no Conv/MatMul/Gemm node of the model, or by several (the message names
     *     the layer, the tensor and the nodes found), or a point's layers are not quantized layers
     *     of the file or are not joined in the model as the point says
     */
    public static QuantParams forOnnx(ModelProto floatOnnx, QuantParams tf, String modelFile, String sha256)
            throws QuantBridgeException {
        Objects.requireNonNull(floatOnnx, "floatOnnx");
        Objects.requireNonNull(tf, "tf");
        if (tf.framework() != Framework.TENSORFLOW) {
            throw new QuantBridgeException("the parameters are for framework " + tf.framework().id()
                    + "; expected a TensorFlow parameter file to map onto tf2onnx's ONNX");
        }
        GraphProto g = floatOnnx.getGraph();
        Map<String, TensorProto> inits = new HashMap<>();
        g.getInitializerList().forEach(t -> inits.put(t.getName(), t));
        List<LayerParams> layers = new ArrayList<>();
        for (LayerParams layer : tf.layers()) {
            layers.add(layer.isQuantized() && layer.weight() != null && layer.activation() != null
                    ? map(g, inits, layer) : layer);
        }
        List<PointParams> points = new ArrayList<>();
        for (PointParams point : tf.points()) {
            points.add(mapPoint(g, layers, point));
        }
        QuantParams mapped = new QuantParams(tf.framework(), tf.model(), layers, points);
        return tf.model() == null ? mapped
                : mapped.withModel(new ModelInfo(modelFile, sha256, tf.model().inputShape(),
                        tf.model().outputs()));
    }

    private static LayerParams map(GraphProto g, Map<String, TensorProto> inits, LayerParams layer)
            throws QuantBridgeException {
        String where = "layer " + PythonRepr.of(layer.name());
        String tfWeight = layer.weight().tensor();
        List<String> names = List.of(tfWeight, tfWeight + ":0");
        List<NodeProto> readers = new ArrayList<>();
        String init = null;
        for (NodeProto n : g.getNodeList()) {
            if (!KERNELS.contains(n.getOpType()) || n.getInputCount() < 2) {
                continue;
            }
            if (names.contains(n.getInput(1)) && inits.containsKey(n.getInput(1))) {
                readers.add(n);
                init = n.getInput(1);
            }
        }
        if (readers.size() != 1) {
            List<String> kernels = g.getNodeList().stream().filter(n -> KERNELS.contains(n.getOpType()))
                    .map(n -> n.getName() + " <- " + (n.getInputCount() > 1 ? n.getInput(1) : "?")).limit(8).toList();
            throw new QuantBridgeException(where + ": " + (readers.isEmpty() ? "no" : String.valueOf(readers.size()))
                    + " Conv/MatMul/Gemm node of the float ONNX reads its weight " + PythonRepr.of(tfWeight)
                    + " (as initializer " + PythonRepr.of(tfWeight + ":0") + "); expected exactly one (the model's "
                    + "Conv/MatMul/Gemm nodes and weights: " + PythonRepr.of(kernels) + ")");
        }
        NodeProto node = readers.get(0);
        int axis = switch (node.getOpType()) {
            case "Conv" -> 0;
            case "Gemm" -> transB(node) ? 0 : 1;
            default -> Tensors.dims(inits.get(init)).length - 1;
        };
        WeightParams w = layer.weight();
        long[] dims = Tensors.dims(inits.get(init));
        if (axis >= dims.length || dims[axis] != w.scale().size()) {
            throw new QuantBridgeException(where + ": weight " + PythonRepr.of(init) + " of node "
                    + PythonRepr.of(node.getName()) + " (" + node.getOpType() + ") has shape " + Arrays.toString(dims)
                    + ", " + (axis < dims.length ? dims[axis] : 0) + " output channels along axis " + axis
                    + ", but the parameters give " + w.scale().size() + " scales; expected one per output channel");
        }
        WeightParams weight = new WeightParams(init, w.dtype(), w.bits(), w.symmetric(), axis, w.scale(), w.zeroPoint());
        ActivationParams a = layer.activation();
        ActivationParams activation = new ActivationParams(node.getInput(0), a.dtype(), a.bits(), a.symmetric(),
                a.scale(), a.zeroPoint(), a.min(), a.max());
        return new LayerParams(layer.name(), layer.opType(), layer.quantStrategy(), node.getName(), List.of(), weight,
                activation, layer.int32Bias());
    }

    /**
     * The point on the output of the ONNX node of the layer {@code point.name()}, found from the
     * activation tensor of its owner through the chain between them.
     */
    private static PointParams mapPoint(GraphProto g, List<LayerParams> layers, PointParams point)
            throws QuantBridgeException {
        String where = "point " + PythonRepr.of(point.name());
        LayerParams source = quantizedLayer(layers, point.name(), where, "the layer it requantizes");
        LayerParams owner = quantizedLayer(layers, point.owner(), where, "its owner");
        ActivationParams a = owner.activation();
        ActivationParams q = point.quant();
        if (Float.compare((float) a.scale(), (float) q.scale()) != 0 || a.zeroPoint() != q.zeroPoint()) {
            throw new QuantBridgeException(where + ": scale " + q.scale() + " and zero point " + q.zeroPoint()
                    + " differ from those of its owner " + PythonRepr.of(owner.name()) + " (" + a.scale() + ", "
                    + a.zeroPoint() + "); expected the owner's input parameters");
        }
        Map<String, NodeProto> producers = new HashMap<>();
        Map<String, Integer> readers = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            n.getOutputList().forEach(o -> producers.put(o, n));
            n.getInputList().forEach(i -> readers.merge(i, 1, Integer::sum));
        }
        String tensor = a.tensor();
        List<String> seen = new ArrayList<>();
        for (int step = 0; step < 64; step++) {
            NodeProto producer = producers.get(tensor);
            if (producer == null) {
                break;
            }
            seen.add(producer.getOpType());
            if (producer.getName().equals(source.node())) {
                if (step > 0 && readers.getOrDefault(tensor, 0) != 1) {
                    break;
                }
                return new PointParams(point.name(), tensor, point.owner(), null, q);
            }
            if (!CHAIN.contains(producer.getOpType()) || producer.getInputCount() < 1
                    || (step > 0 && readers.getOrDefault(tensor, 0) != 1)) {
                break;
            }
            tensor = producer.getInput(0);
        }
        throw new QuantBridgeException(where + ": the float ONNX has no chain of " + CHAIN_DESCRIPTION
                + " ops, each read only by the next, from node " + PythonRepr.of(source.node()) + " of layer "
                + PythonRepr.of(source.name()) + " to the input " + PythonRepr.of(a.tensor()) + " of layer "
                + PythonRepr.of(owner.name()) + " (ops met walking back: " + PythonRepr.of(seen) + "); expected the "
                + "graph tf2onnx made of the export (or set quantbridge.integer_kernels to false)");
    }

    private static LayerParams quantizedLayer(List<LayerParams> layers, String name, String where, String what)
            throws QuantBridgeException {
        for (LayerParams l : layers) {
            if (l.name().equals(name) && l.isQuantized() && l.activation() != null && l.node() != null) {
                return l;
            }
        }
        throw new QuantBridgeException(where + ": " + what + " " + PythonRepr.of(name) + " is not a quantized layer "
                + "of the parameters; expected the parameter file written with the float model");
    }

    private static boolean transB(NodeProto gemm) {
        return gemm.getAttributeList().stream().anyMatch(a -> a.getName().equals("transB") && a.getI() != 0);
    }
}
