package io.quantbridge.params;

import io.quantbridge.json.JsonValues;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The content of a quantization parameter file: one schema for PyTorch and TensorFlow (see the
 * shim's {@code quantbridge.common.paramfile}).
 *
 * @param framework the framework that produced the parameters
 * @param model the exported float model, or null until {@link #withModel} sets it
 * @param layers every layer of the config, in order
 * @param points derived quantization points (version 2; empty for a version-1 file)
 */
public record QuantParams(Framework framework, ModelInfo model, List<LayerParams> layers, List<PointParams> points) {
    /** The {@code format} value of every parameter file. */
    public static final String FORMAT = "quantbridge-quant-params";
    /** The schema version this code writes. */
    public static final int VERSION = 2;
    /** The schema versions this code reads: 1 (no points) and 2. */
    public static final List<Integer> READABLE_VERSIONS = List.of(1, 2);

    /**
     * Checks presence and unique layer names.
     *
     * @throws IllegalArgumentException if a layer name repeats
     */
    public QuantParams {
        Objects.requireNonNull(framework, "framework");
        layers = List.copyOf(layers);
        points = points == null ? List.of() : List.copyOf(points);
        if (layers.stream().map(LayerParams::name).distinct().count() != layers.size()) {
            throw new IllegalArgumentException("layer names repeat in " + layers.stream().map(LayerParams::name)
                    .toList() + "; expected each layer once");
        }
    }

    /** Parameters without derived points (a version-1 file's content). */
    public QuantParams(Framework framework, ModelInfo model, List<LayerParams> layers) {
        this(framework, model, layers, List.of());
    }

    /** A copy with the derived points set. */
    public QuantParams withPoints(List<PointParams> newPoints) {
        return new QuantParams(framework, model, layers, newPoints);
    }

    /**
     * Derived points from the point dicts the shim returns (the parameter file's {@code points}).
     *
     * @throws QuantBridgeException if a point dict lacks a key or has a value of the wrong kind
     */
    public QuantParams withPointMaps(List<? extends Map<String, ?>> pointMaps) throws QuantBridgeException {
        Objects.requireNonNull(pointMaps, "pointMaps");
        return withPoints(ParamsTree.points(tree(pointMaps, "points"), "points", "Python parameters"));
    }

    /**
     * Parameters from the layer dicts the shim returns (numbers as Long/Double, lists as List,
     * numpy arrays as primitive arrays or objects with {@code getData()}); no model info yet.
     *
     * @param framework {@code "torch"} or {@code "tensorflow"}
     * @throws QuantBridgeException if a layer dict lacks a key or has a value of the wrong kind
     *     (the message names the layer index and key)
     * @throws IllegalArgumentException if the framework is unknown
     */
    public static QuantParams fromLayerMaps(String framework, List<? extends Map<String, ?>> layers)
            throws QuantBridgeException {
        return fromLayerMaps(Framework.fromId(framework), layers);
    }

    /**
     * Parameters from the layer dicts the shim returns; see {@link #fromLayerMaps(String, List)}.
     *
     * @throws QuantBridgeException if a layer dict lacks a key or has a value of the wrong kind
     */
    public static QuantParams fromLayerMaps(Framework framework, List<? extends Map<String, ?>> layers)
            throws QuantBridgeException {
        Objects.requireNonNull(layers, "layers");
        return new QuantParams(framework, null,
                ParamsTree.layers(tree(layers, "layers"), "layers", "Python parameters"));
    }

    /**
     * Parameters from a whole parameter dict (the shim's {@code paramfile.build} result).
     *
     * @throws QuantBridgeException if format or version are wrong or a value is malformed
     */
    public static QuantParams fromMaps(Map<String, ?> params) throws QuantBridgeException {
        Objects.requireNonNull(params, "params");
        return ParamsTree.params(tree(params, "params"), "Python parameters");
    }

    private static com.fasterxml.jackson.databind.JsonNode tree(Object value, String where)
            throws QuantBridgeException {
        try {
            return JsonValues.toTree(value, where);
        } catch (IllegalArgumentException e) {
            throw new QuantBridgeException("Python parameters: " + e.getMessage(), e);
        }
    }

    /** A copy with the model info set. */
    public QuantParams withModel(ModelInfo info) {
        return new QuantParams(framework, info, layers, points);
    }

    /**
     * A copy with the model info set.
     *
     * @param file the float model's file name
     * @param sha256 its hex SHA-256
     * @param inputShape the deployed input shape, or null
     * @param outputs output names (may be empty)
     */
    public QuantParams withModel(String file, String sha256, InputShape inputShape, List<String> outputs) {
        return withModel(new ModelInfo(file, sha256, inputShape == null ? null : inputShape.format(), outputs));
    }

    /** The layer called {@code name}, if present. */
    public Optional<LayerParams> layer(String name) {
        return layers.stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** The layers whose strategy is not {@code "float"}, in order. */
    public List<LayerParams> quantizedLayers() {
        return layers.stream().filter(LayerParams::isQuantized).toList();
    }
}
