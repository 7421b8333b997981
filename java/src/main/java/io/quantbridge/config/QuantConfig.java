package io.quantbridge.config;

import io.quantbridge.json.Json;
import io.quantbridge.json.PythonRepr;
import io.quantbridge.json.JsonValues;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The vendor's quantization config (JSON), PyTorch or TensorFlow variant.
 *
 * <p>Every key is kept in its order, including {@code //} comments and keys QuantBridge does
 * not know, so that reading a file and writing it back keeps everything: {@link #toJson()} writes
 * the vendor's layout ({@link Json#write}, UTF-8 text as it is).
 *
 * <p>Reading applies the {@code read} rules of the shim's {@code config_rules.json} (what the
 * shim's {@code config.load} applies); {@link #validate()} its {@code validate} rules. Whether the
 * config fits a model is the shim's to say. Instances are mutable and not thread-safe.
 */
public final class QuantConfig {
    private final ObjectNode root;
    private final String source;
    private boolean validated;

    private QuantConfig(ObjectNode root, String source) {
        this.root = root;
        this.source = source;
    }

    /**
     * Reads a config file (UTF-8).
     *
     * @throws ConfigException if the file is missing, unreadable, not JSON, or not shaped like a config
     */
    public static QuantConfig read(Path path) throws ConfigException {
        Objects.requireNonNull(path, "path");
        String where = path.toString();
        if (!Files.isRegularFile(path)) {
            throw new ConfigException("config file " + PythonRepr.of(where) + " does not exist");
        }
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("config file " + PythonRepr.of(where) + " cannot be read as UTF-8 text: " + e, e);
        }
        return parse(text, "config file " + PythonRepr.of(where), where);
    }

    /**
     * Parses config JSON text; messages refer to it as {@code config}.
     *
     * @throws ConfigException if the text is not JSON or not shaped like a config
     */
    public static QuantConfig parse(String json) throws ConfigException {
        return parse(json, "config", "config");
    }

    private static ObjectNode read(JsonNode root, String where) throws ConfigException {
        ConfigRules.check(root, "read", where);
        return (ObjectNode) root;
    }

    private static QuantConfig parse(String json, String what, String where) throws ConfigException {
        Objects.requireNonNull(json, "json");
        JsonNode root;
        try {
            root = Json.parse(json);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new ConfigException(what + " is not valid JSON: " + e.getOriginalMessage()
                    + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr()), e);
        }
        return new QuantConfig(read(root, where), where);
    }

    /**
     * A config from the dict the shim returns (e.g. {@code build_config}): nested maps, lists,
     * strings, numbers. Key order is the maps' iteration order, so pass insertion-ordered maps.
     *
     * @throws ConfigException if the value is not shaped like a config
     */
    public static QuantConfig fromMap(Map<String, ?> config) throws ConfigException {
        Objects.requireNonNull(config, "config");
        JsonNode root;
        try {
            root = JsonValues.toTree(config, "config");
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        return new QuantConfig(read(root, "config"), "config");
    }

    /**
     * A new config listing every layer at {@code "float"} (the shim's {@code build_template}): one
     * hint key per op type in first-seen order, then {@code input_shape} if given, then
     * {@code layer_strategy}.
     *
     * @param layers the model's quantizable layers in order
     * @param inputShape the PyTorch input shape, or null (TensorFlow)
     * @throws IllegalArgumentException if a layer name repeats
     */
    public static QuantConfig template(List<LayerInfo> layers, InputShape inputShape) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        Set<String> ops = new LinkedHashSet<>();
        layers.forEach(l -> ops.add(l.opType()));
        for (String op : ops) {
            var hints = root.putArray(Strategies.hintKey(op));
            Strategies.quantized(op).forEach(hints::add);
        }
        if (inputShape != null) {
            root.put(ConfigRules.INPUT_SHAPE, inputShape.format());
        }
        ObjectNode entries = root.putObject(ConfigRules.LAYER_STRATEGY);
        for (LayerInfo l : layers) {
            if (entries.has(l.name())) {
                throw new IllegalArgumentException("layer " + PythonRepr.of(l.name())
                        + " appears twice in the layer list; expected unique names");
            }
            ObjectNode e = entries.putObject(l.name());
            e.put(ConfigRules.OP_TYPE, l.opType());
            e.put(ConfigRules.QUANT_STRATEGY, Strategies.FLOAT);
        }
        return new QuantConfig(root, "config");
    }

    /** Where this config came from (the file path, or {@code config}); used in messages. */
    public String source() {
        return source;
    }

    /** A deep copy of the JSON tree (changing it does not change this config). */
    public ObjectNode tree() {
        return root.deepCopy();
    }

    /** An independent copy of this config. */
    public QuantConfig copy() {
        return new QuantConfig(root.deepCopy(), source);
    }

    /**
     * The config as plain, insertion-ordered Java values (LinkedHashMap, ArrayList, String,
     * Long, Double, Boolean, null), ready to hand to the shim as a dict.
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> toMap() {
        return (Map<String, Object>) JsonValues.toPlain(root);
    }

    /** The JSON text in the vendor's layout ({@link Json#write}), non-ASCII text as it is. */
    public String toJson() {
        return Json.write(root, false);
    }

    /**
     * Writes {@link #toJson()} atomically (UTF-8), replacing an existing file.
     *
     * @throws QuantBridgeException if the directory does not exist or writing fails
     */
    public Path write(Path path) throws QuantBridgeException {
        return write(path, true);
    }

    /**
     * Writes {@link #toJson()} atomically (UTF-8).
     *
     * @param overwrite false to refuse replacing an existing file
     * @throws QuantBridgeException if the file exists and overwrite is false, or writing fails
     */
    public Path write(Path path, boolean overwrite) throws QuantBridgeException {
        return AtomicFiles.writeString(path, toJson(), overwrite);
    }

    /** The {@code layer_strategy} entries in file order ({@code //} comment keys skipped). */
    public List<LayerEntry> layers() {
        List<LayerEntry> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = entries().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!ConfigRules.isComment(e.getKey())) {
                out.add(toEntry(e.getKey(), e.getValue()));
            }
        }
        return List.copyOf(out);
    }

    /** The entry of layer {@code name}, if the config has one. */
    public Optional<LayerEntry> layer(String name) {
        JsonNode e = name == null || ConfigRules.isComment(name) ? null : entries().get(name);
        return e == null ? Optional.empty() : Optional.of(toEntry(name, e));
    }

    /**
     * Sets the {@code quant_strategy} of one layer (other keys of the entry are kept).
     *
     * @throws ConfigException if the config has no such layer, or the strategy is not supported
     *     for the layer's op type
     */
    public void setStrategy(String layer, String strategy) throws ConfigException {
        validated = false;
        Objects.requireNonNull(strategy, "strategy");
        LayerEntry entry = layer(layer).orElseThrow(() -> new ConfigException("layer " + PythonRepr.of(layer)
                + " is not in " + source + "'s layer_strategy (layers cannot be added); it has " + layers().size()
                + " layers, e.g. " + PythonRepr.of(layers().stream().limit(8).map(LayerEntry::name).toList())));
        checkSupported(entry, strategy);
        ((ObjectNode) entries().get(layer)).put(ConfigRules.QUANT_STRATEGY, strategy);
    }

    /**
     * Sets {@code strategy} on every layer whose op type supports it; others are left unchanged.
     *
     * @return the number of layers set
     */
    public int quantizeAll(String strategy) {
        validated = false;
        Objects.requireNonNull(strategy, "strategy");
        int n = 0;
        for (LayerEntry e : layers()) {
            if (e.opType() != null && Strategies.isSupported(e.opType(), strategy)) {
                ((ObjectNode) entries().get(e.name())).put(ConfigRules.QUANT_STRATEGY, strategy);
                n++;
            }
        }
        return n;
    }

    /**
     * Sets {@code strategy} on every layer {@code filter} accepts; all or nothing.
     *
     * @return the number of layers set
     * @throws ConfigException if the strategy is not supported for one of the accepted layers
     *     (then no layer is changed)
     */
    public int quantizeMatching(Predicate<LayerEntry> filter, String strategy) throws ConfigException {
        validated = false;
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(strategy, "strategy");
        List<LayerEntry> chosen = layers().stream().filter(filter).toList();
        for (LayerEntry e : chosen) {
            checkSupported(e, strategy);
        }
        for (LayerEntry e : chosen) {
            ((ObjectNode) entries().get(e.name())).put(ConfigRules.QUANT_STRATEGY, strategy);
        }
        return chosen.size();
    }

    /**
     * The parsed {@code input_shape}, if the config has one.
     *
     * @throws ConfigException if it is present but malformed
     */
    public Optional<InputShape> inputShape() throws ConfigException {
        JsonNode shape = root.get(ConfigRules.INPUT_SHAPE);
        if (shape == null) {
            return Optional.empty();
        }
        ConfigRules.checkMember(root, "validate", ConfigRules.INPUT_SHAPE);
        return Optional.of(InputShape.parse(shape.textValue()));
    }

    /** Sets {@code input_shape} (in place, or inserted before {@code layer_strategy}); null removes it. */
    public void setInputShape(InputShape shape) {
        validated = false;
        if (shape == null) {
            root.remove(ConfigRules.INPUT_SHAPE);
        } else if (root.has(ConfigRules.INPUT_SHAPE)) {
            root.put(ConfigRules.INPUT_SHAPE, shape.format());
        } else {
            Map<String, JsonNode> copy = new LinkedHashMap<>();
            root.fields().forEachRemaining(e -> copy.put(e.getKey(), e.getValue()));
            root.removeAll();
            for (Map.Entry<String, JsonNode> e : copy.entrySet()) {
                if (e.getKey().equals(ConfigRules.LAYER_STRATEGY)) {
                    root.put(ConfigRules.INPUT_SHAPE, shape.format());
                }
                root.set(e.getKey(), e.getValue());
            }
        }
    }

    /**
     * {@link Framework#TORCH} if an op type (of a layer or a hint key) is a PyTorch class string,
     * {@link Framework#TENSORFLOW} otherwise.
     */
    public Framework framework() {
        for (LayerEntry e : layers()) {
            if (Framework.isTorchOpType(e.opType())) {
                return Framework.TORCH;
            }
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            if (Strategies.opTypeOfHintKey(it.next()).filter(Framework::isTorchOpType).isPresent()) {
                return Framework.TORCH;
            }
        }
        return Framework.TENSORFLOW;
    }

    /**
     * The calibration settings: the {@code quantbridge.calibration} section merged over
     * {@link Calibration#DEFAULT}.
     *
     * @throws ConfigException if the section is malformed (unknown key, bad method, percentile
     *     outside (50, 100], bins below 16)
     */
    public Calibration calibration() throws ConfigException {
        JsonNode given = checkedExtraMember(ConfigRules.CALIBRATION);
        if (given == null || ConfigRules.isFalsy(given)) {
            return Calibration.DEFAULT;
        }
        Calibration d = Calibration.DEFAULT;
        return new Calibration(given.has("method") ? given.get("method").textValue() : d.method(),
                given.has("percentile") ? given.get("percentile").doubleValue() : d.percentile(),
                given.has("bins") ? given.get("bins").intValue() : d.bins());
    }

    /**
     * Writes the calibration settings into {@code quantbridge.calibration} (created at the end if
     * absent; other keys there, such as {@code //} comments, are kept).
     */
    public void setCalibration(Calibration calibration) {
        validated = false;
        Objects.requireNonNull(calibration, "calibration");
        ObjectNode ex = extraSection();
        JsonNode cal = ex.get(ConfigRules.CALIBRATION);
        ObjectNode c = cal instanceof ObjectNode o ? o : ex.putObject(ConfigRules.CALIBRATION);
        c.put("method", calibration.method());
        c.put("percentile", calibration.percentile());
        c.put("bins", calibration.bins());
    }

    /**
     * {@code key} of the {@code quantbridge} section once that section passed its rules; null
     * when the section or the key is absent (a falsy section counts as absent).
     */
    private JsonNode checkedExtraMember(String key) throws ConfigException {
        ConfigRules.checkMember(root, "validate", ConfigRules.EXTRA_KEY);
        JsonNode extra = root.get(ConfigRules.EXTRA_KEY);
        return extra == null || ConfigRules.isFalsy(extra) ? null : extra.get(key);
    }

    /** The {@code quantbridge} section, created at the end if absent or not an object. */
    private ObjectNode extraSection() {
        JsonNode extra = root.get(ConfigRules.EXTRA_KEY);
        return extra instanceof ObjectNode o ? o : root.putObject(ConfigRules.EXTRA_KEY);
    }

    /**
     * Switches {@code quantbridge.reduce_range} (PyTorch): 7-bit activations, the calibrated range
     * mapped to 0..127, so that ONNX Runtime's u8*s8 kernels cannot saturate on CPUs without VNNI.
     */
    public void setReduceRange(boolean on) {
        validated = false;
        ObjectNode ex = extraSection();
        ex.put(ConfigRules.REDUCE_RANGE, on);
    }

    /**
     * {@code quantbridge.onnx_weight_type}: how the INT8 ONNX stores its int8 weight codes.
     * {@code "uint8"} (the default): the int8 codes plus 128 with zero point 128, which ONNX Runtime
     * runs with its u8*u8 kernels: the fake-quant model's numbers on every CPU. {@code "int8"}: the
     * signed codes, run with its u8*s8 kernels: faster, and the same numbers on CPUs with VNNI, but
     * on x86 CPUs without it those kernels sum products in pairs into 16 bits ({@code VPMADDUBSW})
     * and saturate there (see {@link io.quantbridge.onnx.WeightType}).
     *
     * @throws ConfigException if the value is neither
     */
    public String onnxWeightType() throws ConfigException {
        JsonNode given = checkedExtraMember(ConfigRules.ONNX_WEIGHT_TYPE);
        return given == null ? defaultOnnxWeightType() : given.textValue();
    }

    /** The default of {@code quantbridge.onnx_weight_type} ({@code config_rules.json}). */
    public static String defaultOnnxWeightType() {
        return ConfigRules.node("validate", ConfigRules.EXTRA_KEY, ConfigRules.ONNX_WEIGHT_TYPE).get("default").textValue();
    }

    /**
     * Sets {@code quantbridge.onnx_weight_type} ({@code "int8"} or {@code "uint8"}; see
     * {@link #onnxWeightType()}); the value is checked by {@link #validate()}.
     */
    public void setOnnxWeightType(String type) {
        validated = false;
        ObjectNode ex = extraSection();
        ex.put(ConfigRules.ONNX_WEIGHT_TYPE, Objects.requireNonNull(type, "type"));
    }

    /**
     * Switches {@code quantbridge.integer_kernels}: the derived quantization points (layer outputs
     * with ReLU absorbed, residual adds) that let ONNX Runtime run the INT8 ONNX in integer kernels.
     * On by default (a config without the key); {@code false} keeps input-only quantization, with
     * float convolutions in ONNX Runtime.
     */
    public void setIntegerKernels(boolean on) {
        validated = false;
        ObjectNode ex = extraSection();
        ex.put(ConfigRules.INTEGER_KERNELS, on);
    }

    /**
     * Same as {@code setCalibration(new Calibration(method, percentile, bins))}.
     *
     * @throws IllegalArgumentException if a value is out of range (see {@link Calibration})
     */
    public void setCalibration(String method, double percentile, int bins) {
        setCalibration(new Calibration(method, percentile, bins));
    }

    /**
     * Checks everything that can be checked without the model (the {@code validate} rules of the
     * shim's {@code config_rules.json}): strategies against each entry's op type, hint keys,
     * {@code input_shape} syntax and the {@code quantbridge} section. Whether the config fits a
     * model is the shim's to check (the quantizers ask it once per run). A config that passed and
     * has not changed since is not checked again.
     *
     * @throws ConfigException naming the first problem found (layer or key, expected, found)
     */
    public void validate() throws ConfigException {
        if (!validated) {
            ConfigRules.check(root, "validate", source);
            validated = true;
        }
    }

    /** True once {@link #validate()} passed and nothing changed since: the shim need not check the structure again. */
    public boolean isValidated() {
        return validated;
    }

    private ObjectNode entries() {
        return (ObjectNode) root.get(ConfigRules.LAYER_STRATEGY);
    }

    private static LayerEntry toEntry(String name, JsonNode entry) {
        JsonNode op = entry.get(ConfigRules.OP_TYPE);
        return new LayerEntry(name, op == null || !op.isTextual() ? null : op.textValue(),
                entry.get(ConfigRules.QUANT_STRATEGY).textValue());
    }

    private void checkSupported(LayerEntry entry, String strategy) throws ConfigException {
        if (entry.opType() == null) {
            if (!Strategies.FLOAT.equals(strategy)) {
                throw new ConfigException("layer " + PythonRepr.of(entry.name()) + " has no 'op_type' in " + source
                        + "; cannot tell whether quant_strategy " + PythonRepr.of(strategy) + " is supported");
            }
            return;
        }
        if (!Strategies.isSupported(entry.opType(), strategy)) {
            throw ConfigRules.unsupported(entry.name(), entry.opType(), strategy);
        }
    }

    @Override
    public String toString() {
        return "QuantConfig[" + source + ", " + layers().size() + " layers, " + framework().id() + "]";
    }
}
