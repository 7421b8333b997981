package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The checks behind {@link QuantConfig}: structure (the shim's {@code load}), the extra section
 * ({@code extra_settings}) and the model fit ({@code validate}), with the shim's messages.
 */
final class ConfigChecks {
    static final String LAYER_STRATEGY = "layer_strategy";
    static final String INPUT_SHAPE = "input_shape";
    static final String EXTRA_KEY = "quantbridge";
    static final String CALIBRATION = "calibration";
    /** {@code quantbridge.reduce_range}: 7-bit activations (checked here, applied by the shim). */
    static final String REDUCE_RANGE = "reduce_range";
    /** {@code quantbridge.integer_kernels}: derived quantization points (checked here, applied by the shim). */
    static final String INTEGER_KERNELS = "integer_kernels";
    static final String OP_TYPE = "op_type";
    static final String QUANT_STRATEGY = "quant_strategy";
    private static final int SAMPLE = 8;

    private ConfigChecks() {
    }

    static boolean isComment(String key) {
        return key.startsWith("//");
    }

    /** The shim's {@code load}: top-level object, {@code layer_strategy} object of entry objects. */
    static ObjectNode checkStructure(JsonNode root, String where) throws ConfigException {
        if (root == null || !root.isObject()) {
            throw new ConfigException(where + ": expected a JSON object at the top level, got "
                    + PythonRepr.typeName(root));
        }
        JsonNode layers = root.get(LAYER_STRATEGY);
        if (layers == null || !layers.isObject()) {
            throw new ConfigException(where + ": missing or malformed 'layer_strategy' "
                    + "(expected an object of layer name -> entry)");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = layers.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (isComment(name)) {
                continue;
            }
            JsonNode entry = e.getValue();
            if (!entry.isObject()) {
                throw new ConfigException(where + ": layer_strategy[" + PythonRepr.of(name)
                        + "] must be an object with 'op_type' and 'quant_strategy'");
            }
            JsonNode strategy = entry.get(QUANT_STRATEGY);
            if (strategy == null) {
                throw new ConfigException(where + ": layer_strategy[" + PythonRepr.of(name)
                        + "] has no 'quant_strategy' (expected 'float' or a strategy)");
            }
            if (!strategy.isTextual()) {
                throw new ConfigException(where + ": layer_strategy[" + PythonRepr.of(name) + "].quant_strategy is "
                        + PythonRepr.of(strategy) + " (" + PythonRepr.typeName(strategy)
                        + "); expected a string such as 'float' or 'Quant_INT8-8'");
            }
            JsonNode op = entry.get(OP_TYPE);
            if (op != null && !op.isTextual()) {
                throw new ConfigException(where + ": layer_strategy[" + PythonRepr.of(name) + "].op_type is "
                        + PythonRepr.of(op) + " (" + PythonRepr.typeName(op) + "); expected the op type string "
                        + "of the generated template");
            }
        }
        return (ObjectNode) root;
    }

    /** The shim's {@code extra_settings}: the {@code quantbridge} section merged over the defaults. */
    static Calibration calibration(JsonNode root) throws ConfigException {
        JsonNode extra = root.get(EXTRA_KEY);
        if (extra == null || isEmptyOrNull(extra)) {
            return Calibration.DEFAULT;
        }
        if (!extra.isObject()) {
            throw new ConfigException("'" + EXTRA_KEY + "' must be an object, got " + PythonRepr.typeName(extra));
        }
        List<String> unknown = new ArrayList<>();
        extra.fieldNames().forEachRemaining(k -> {
            if (!isComment(k) && !CALIBRATION.equals(k) && !REDUCE_RANGE.equals(k) && !INTEGER_KERNELS.equals(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            throw new ConfigException("unknown key(s) " + PythonRepr.of(unknown) + " in '" + EXTRA_KEY
                    + "'; expected one of ['calibration', 'integer_kernels', 'reduce_range']");
        }
        for (String flag : List.of(INTEGER_KERNELS, REDUCE_RANGE)) {
            JsonNode value = extra.get(flag);
            if (value != null && !value.isBoolean()) {
                throw new ConfigException("'" + EXTRA_KEY + "." + flag + "' is " + PythonRepr.of(value)
                        + "; expected true or false");
            }
        }
        JsonNode given = extra.get(CALIBRATION);
        if (given == null || isEmptyOrNull(given)) {
            return Calibration.DEFAULT;
        }
        if (!given.isObject()) {
            throw new ConfigException("'" + EXTRA_KEY + ".calibration' must be an object");
        }
        Map<String, JsonNode> calib = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = given.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            if (isComment(key)) {
                continue;
            }
            if (!List.of("method", "percentile", "bins").contains(key)) {
                throw new ConfigException("unknown key " + PythonRepr.of(key) + " in '" + EXTRA_KEY
                        + ".calibration'; expected one of " + PythonRepr.of(new ArrayList<>(
                                new TreeSet<>(List.of("method", "percentile", "bins")))));
            }
            calib.put(key, e.getValue());
        }
        String method = Calibration.DEFAULT.method();
        JsonNode m = calib.get("method");
        if (m != null) {
            if (!m.isTextual() || !Calibration.METHODS.contains(m.textValue())) {
                throw new ConfigException("'" + EXTRA_KEY + ".calibration.method' is " + PythonRepr.of(m)
                        + "; expected one of " + PythonRepr.of(Calibration.METHODS));
            }
            method = m.textValue();
        }
        double percentile = Calibration.DEFAULT.percentile();
        JsonNode p = calib.get("percentile");
        if (p != null) {
            if (!p.isNumber() || !(p.doubleValue() > 50.0 && p.doubleValue() <= 100.0)) {
                throw new ConfigException("'" + EXTRA_KEY + ".calibration.percentile' is " + PythonRepr.of(p)
                        + "; expected a number in (50, 100]");
            }
            percentile = p.doubleValue();
        }
        int bins = Calibration.DEFAULT.bins();
        JsonNode b = calib.get("bins");
        if (b != null) {
            if (!b.isIntegralNumber() || !b.canConvertToInt() || b.intValue() < 16) {
                throw new ConfigException("'" + EXTRA_KEY + ".calibration.bins' is " + PythonRepr.of(b)
                        + "; expected an integer >= 16");
            }
            bins = b.intValue();
        }
        return new Calibration(method, percentile, bins);
    }

    private static boolean isEmptyOrNull(JsonNode node) {
        // Python's `x or {}`: None, {}, [], "", 0 and false all count as absent.
        return node.isNull() || (node.isContainerNode() && node.isEmpty())
                || (node.isTextual() && node.textValue().isEmpty())
                || (node.isNumber() && node.doubleValue() == 0.0) || (node.isBoolean() && !node.booleanValue());
    }

    /** The hints must be lists of strings; {@code input_shape}, when present, must parse. */
    static void checkHintsAndShape(JsonNode root) throws ConfigException {
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (Strategies.opTypeOfHintKey(e.getKey()).isEmpty()) {
                continue;
            }
            JsonNode v = e.getValue();
            boolean ok = v.isArray();
            for (int i = 0; ok && i < v.size(); i++) {
                ok = v.get(i).isTextual();
            }
            if (!ok) {
                throw new ConfigException(PythonRepr.of(e.getKey()) + " is " + PythonRepr.of(v)
                        + "; expected a list of strategy names such as ['Quant_INT8-8']");
            }
        }
        JsonNode shape = root.get(INPUT_SHAPE);
        if (shape != null) {
            if (!shape.isTextual()) {
                throw new ConfigException("input_shape " + PythonRepr.of(shape)
                        + " is malformed; expected 'name:d1,d2,...' with inputs separated by ';'");
            }
            InputShape.parse(shape.textValue());
        }
    }

    /** Each entry's strategy against {@link Strategies} for the entry's own op type. */
    static void checkStrategies(List<LayerEntry> entries) throws ConfigException {
        for (LayerEntry e : entries) {
            if (e.opType() != null && !Strategies.isSupported(e.opType(), e.strategy())) {
                throw unsupported(e.name(), e.opType(), e.strategy());
            }
        }
    }

    static ConfigException unsupported(String name, String opType, String strategy) {
        return new ConfigException("layer " + PythonRepr.of(name) + " (" + opType + "): quant_strategy "
                + PythonRepr.of(strategy) + " is not supported for this op type; expected one of "
                + PythonRepr.of(Strategies.supported(opType)));
    }

    /** The shim's {@code validate}: the config against the model's layers, result in model order. */
    static Map<String, String> checkAgainst(List<LayerEntry> entries, List<LayerInfo> model)
            throws ConfigException {
        Map<String, String> known = new LinkedHashMap<>();
        for (LayerInfo info : model) {
            if (known.put(info.name(), info.opType()) != null) {
                throw new IllegalArgumentException("the model's layer list names " + PythonRepr.of(info.name())
                        + " twice; expected unique layer names");
            }
        }
        Map<String, LayerEntry> byName = new LinkedHashMap<>();
        for (LayerEntry e : entries) {
            byName.put(e.name(), e);
        }
        for (LayerEntry e : entries) {
            if (!known.containsKey(e.name())) {
                List<String> sample = known.keySet().stream().limit(SAMPLE).toList();
                throw new ConfigException("layer " + PythonRepr.of(e.name()) + " in the config is not a quantizable "
                        + "layer of this model (layers cannot be added); the model has " + known.size()
                        + " such layers, e.g. " + PythonRepr.of(sample));
            }
        }
        Map<String, String> strategies = new LinkedHashMap<>();
        for (Map.Entry<String, String> k : known.entrySet()) {
            String name = k.getKey();
            String opType = k.getValue();
            LayerEntry entry = byName.get(name);
            if (entry == null) {
                strategies.put(name, Strategies.FLOAT);
                continue;
            }
            String givenOp = entry.opType() == null ? opType : entry.opType();
            if (!givenOp.equals(opType)) {
                throw new ConfigException("layer " + PythonRepr.of(name) + ": op_type is " + PythonRepr.of(givenOp)
                        + " in the config but " + PythonRepr.of(opType) + " in the model");
            }
            if (!Strategies.isSupported(opType, entry.strategy())) {
                throw unsupported(name, opType, entry.strategy());
            }
            strategies.put(name, entry.strategy());
        }
        return strategies;
    }
}
