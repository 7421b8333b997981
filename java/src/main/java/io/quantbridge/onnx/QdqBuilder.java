package io.quantbridge.onnx;

import io.quantbridge.json.Json;
import io.quantbridge.json.PythonRepr;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.PointParams;
import io.quantbridge.params.QuantParams;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Builds the INT8 QDQ ONNX model from a float ONNX model and the quantization parameters.
 *
 * <p>For each layer whose strategy is not {@code float}, at each of its nodes (a layer lists
 * several when its module is called more than once; the same activation parameters apply at
 * each): the node's activation input goes through {@code QuantizeLinear -> DequantizeLinear}
 * (uint8, per tensor; one pair shared by all quantized nodes reading the same tensor with the
 * same parameters), and the float weight initializer it reads is replaced by an int8
 * initializer ({@code clamp(rint(w / scale_c), -127, 127)}; with {@link WeightType#UINT8} the
 * same codes plus 128 as uint8), per-channel scales (those of the layer's weight entry, or of the
 * entry's copy for that initializer) and zero-points (0; 128 for uint8), shared
 * by all nodes reading that initializer, and a {@code DequantizeLinear(axis)} per node (ONNX
 * Runtime 1.15's CPU Conv computes wrongly when one per-axis DequantizeLinear feeds two Convs). Biases
 * stay float. The float weight is kept only if another node still reads it. The input model is
 * not changed.
 *
 * <p>Requires opset 13 or later (per-axis DequantizeLinear). The result keeps the IR version and
 * opsets, records producer {@code QuantBridge} and metadata {@value #META_LAYERS} (JSON list of
 * layer names), {@value #META_FORMAT} and {@value #META_SOURCE}.
 */
public final class QdqBuilder {
    /** The lowest default-domain opset the export accepts. */
    public static final long MIN_OPSET = 13;
    /** Metadata key: JSON list of the quantized layer names. */
    public static final String META_LAYERS = "quantbridge.quantized_layers";
    /** Metadata key: the parameter-file format and version the model was built from. */
    public static final String META_FORMAT = "quantbridge.param_format";
    /** Metadata key: producer name and version of the float model. */
    public static final String META_SOURCE = "quantbridge.source_producer";

    private QdqBuilder() {
    }

    /**
     * Builds the QDQ model from a float ONNX file, first checking that its SHA-256 is the one the
     * parameters record (when they record one).
     *
     * @throws QuantBridgeException if the file cannot be read, belongs to another model, or
     *     {@link #build(ModelProto, QuantParams)} fails
     */
    public static ModelProto build(Path floatOnnx, QuantParams params) throws QuantBridgeException {
        return build(floatOnnx, params, WeightType.DEFAULT);
    }

    /**
     * {@link #build(Path, QuantParams)} with the weights stored as {@code weightType}.
     */
    public static ModelProto build(Path floatOnnx, QuantParams params, WeightType weightType) throws QuantBridgeException {
        Objects.requireNonNull(params, "params");
        if (params.model() != null && !params.model().sha256().isEmpty()) {
            String sha = OnnxModels.sha256(floatOnnx);
            if (!sha.equalsIgnoreCase(params.model().sha256())) {
                throw new QuantBridgeException("the parameters were made for model " + PythonRepr.of(params.model().file())
                        + " (sha256 " + params.model().sha256() + ") but " + floatOnnx + " has sha256 " + sha
                        + "; expected the float model exported together with the parameter file");
            }
        }
        return build(OnnxModels.load(floatOnnx), params, weightType);
    }

    /**
     * Builds the QDQ model.
     *
     * @param floatModel the float model (not changed)
     * @param params the parameters; layers at {@code float} are skipped
     * @return a new model
     * @throws QuantBridgeException if the opset is below 13, a layer's node or weight initializer
     *     cannot be found, the scale count does not match the weight's channels, or a parameter
     *     is out of range (the message names the layer, tensor and shapes)
     */
    public static ModelProto build(ModelProto floatModel, QuantParams params) throws QuantBridgeException {
        return build(floatModel, params, WeightType.DEFAULT);
    }

    /**
     * Builds the QDQ model with the weights stored as {@code weightType} (signed int8 codes, or
     * the same codes plus 128 as uint8 with zero point 128; see {@link WeightType}).
     *
     * @throws QuantBridgeException as {@link #build(ModelProto, QuantParams)}
     */
    public static ModelProto build(ModelProto floatModel, QuantParams params, WeightType weightType)
            throws QuantBridgeException {
        Objects.requireNonNull(floatModel, "floatModel");
        Objects.requireNonNull(weightType, "weightType");
        Objects.requireNonNull(params, "params");
        long opset = OnnxModels.opset(floatModel).orElseThrow(() -> new QuantBridgeException(
                "the float model imports no opset of the default ONNX domain; expected opset >= " + MIN_OPSET));
        if (opset < MIN_OPSET) {
            throw new QuantBridgeException("the float model uses opset " + opset + " of the default ONNX domain; the "
                    + "INT8 QDQ export needs opset >= " + MIN_OPSET + " (per-channel DequantizeLinear with axis); "
                    + "export the float model with opset_version=" + MIN_OPSET + " or later");
        }
        GraphProto g = floatModel.getGraph();
        QdqRewrite rewrite = new QdqRewrite(g, weightType);
        List<String> done = new ArrayList<>();
        for (LayerParams layer : params.layers()) {
            if (layer.isQuantized()) {
                rewrite.apply(layer);
                done.add(layer.name());
            }
        }
        for (PointParams point : params.points()) {
            if (point.owner() != null && params.layer(point.owner()).map(l -> !l.isQuantized()).orElse(true)) {
                throw new QuantBridgeException("point " + PythonRepr.of(point.name()) + ": its owner layer "
                        + PythonRepr.of(point.owner()) + " is not a quantized layer of the parameters; expected the "
                        + "parameter file written with the float model");
            }
            rewrite.applyPoint(point);
        }
        rewrite.quantizeBiases();
        GraphProto graph = rewrite.result();

        ModelProto.Builder m = floatModel.toBuilder().setGraph(graph)
                .setProducerName(OnnxContext.PRODUCER).setProducerVersion(producerVersion());
        Map<String, String> meta = new LinkedHashMap<>();
        for (StringStringEntryProto e : floatModel.getMetadataPropsList()) {
            meta.put(e.getKey(), e.getValue());
        }
        try {
            meta.put(META_LAYERS, Json.mapper().writeValueAsString(done));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write a list of strings as JSON", e);
        }
        meta.put(META_FORMAT, QuantParams.FORMAT + "/" + QuantParams.VERSION);
        meta.put(META_SOURCE, (floatModel.getProducerName() + " " + floatModel.getProducerVersion()).strip());
        m.clearMetadataProps();
        meta.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /** This library's version. */
    static String producerVersion() {
        return io.quantbridge.Version.current();
    }

    /** All tensor names read by nodes of {@code g} and its subgraphs, plus {@code g}'s outputs. */
    static Set<String> usedNames(GraphProto g) {
        Set<String> used = new HashSet<>();
        g.getOutputList().forEach(v -> used.add(v.getName()));
        collectInputs(g.getNodeList(), used);
        return used;
    }

    private static void collectInputs(List<NodeProto> nodes, Set<String> used) {
        for (NodeProto n : nodes) {
            used.addAll(n.getInputList());
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    used.addAll(usedNames(a.getG()));
                }
                a.getGraphsList().forEach(sub -> used.addAll(usedNames(sub)));
            }
        }
    }

    /** Data type name for messages. */
    static String typeName(int dataType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(dataType);
        return t == null ? String.valueOf(dataType) : t.name();
    }
}
