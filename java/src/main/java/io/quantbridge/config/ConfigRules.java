package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The config's structural rules: the shim's {@code quantbridge/common/config_rules.json}, shipped in
 * this jar, applied by the same small checker the shim uses ({@code quantbridge.common.rules}). A rule,
 * its order and its message are written once, in that file; this class only interprets it.
 *
 * <p>{@code read} rules run when a config is read, {@code validate} rules before a run. Whether a
 * config fits a model (layer names, op types, input counts) is the shim's alone.
 */
final class ConfigRules {
    static final String RESOURCE = "/io/quantbridge/shim/quantbridge/common/config_rules.json";
    static final String LAYER_STRATEGY = "layer_strategy";
    static final String INPUT_SHAPE = "input_shape";
    static final String EXTRA_KEY = "quantbridge";
    static final String CALIBRATION = "calibration";
    /** {@code quantbridge.integer_kernels}: derived quantization points (applied by the shim). */
    static final String INTEGER_KERNELS = "integer_kernels";
    static final String ONNX_WEIGHT_TYPE = "onnx_weight_type";
    static final String REDUCE_RANGE = "reduce_range";
    static final String OP_TYPE = "op_type";
    static final String QUANT_STRATEGY = "quant_strategy";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(\\w+)\\}");
    private static final JsonNode RULES = load();

    private ConfigRules() {
    }

    private static JsonNode load() {
        try (InputStream in = ConfigRules.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + RESOURCE + " (the config rules the shim ships)");
            }
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** One entry of the rules file (e.g. {@code quantized}, {@code hint}, {@code input_shape}). */
    static JsonNode get(String key) {
        return RULES.get(key);
    }

    static boolean isComment(String key) {
        return key.startsWith("//");
    }

    /** {@code template} with each {@code {name}} replaced by {@code fields.get(name)} (unknown names kept). */
    static String message(String template, Map<String, String> fields) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = fields.get(m.group(1));
            m.appendReplacement(sb, Matcher.quoteReplacement(v == null ? m.group(0) : v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** The exception for a strategy {@code opType} does not support. */
    static ConfigException unsupported(String name, String opType, String strategy) {
        return new ConfigException(message(RULES.get("unsupported").textValue(), Map.of("name", PythonRepr.of(name),
                "op", String.valueOf(opType), "strategy", PythonRepr.of(strategy),
                "expected", PythonRepr.of(Strategies.supported(opType)))));
    }

    /** The rule node of the nested {@code keys} ({@code node("validate", "quantbridge", "calibration")}). */
    static JsonNode node(String phase, String... keys) {
        JsonNode node = RULES.get(phase);
        for (String key : keys) {
            JsonNode found = null;
            for (JsonNode member : node.get("members")) {
                if (key.equals(member.path("key").asText(null))) {
                    found = member.get("node");
                }
            }
            if (found == null) {
                throw new IllegalStateException("config_rules.json: no rule for " + String.join(".", keys));
            }
            node = found;
        }
        return node;
    }

    /** Applies the {@code phase} rules ({@code read} or {@code validate}) to {@code root}. */
    static void check(JsonNode root, String phase, String where) throws ConfigException {
        node(RULES.get(phase), root, Map.of("where", where));
    }

    /** Applies only the {@code phase} rules of the top-level {@code key}. */
    static void checkMember(JsonNode root, String phase, String key) throws ConfigException {
        for (JsonNode member : RULES.get(phase).get("members")) {
            if (key.equals(member.path("key").asText(null))) {
                member(member, root, Map.of("where", "config"));
            }
        }
    }

    private static ConfigException fail(String template, Map<String, String> fields, JsonNode value) {
        Map<String, String> all = new HashMap<>(fields);
        all.put("value", PythonRepr.of(value));
        all.put("type", PythonRepr.typeName(value));
        return new ConfigException(message(template, all));
    }

    private static boolean typeOk(String kind, JsonNode v) {
        if (kind == null) {
            return true;
        }
        return switch (kind) {
            case "object" -> v != null && v.isObject();
            case "string" -> v != null && v.isTextual();
            case "boolean" -> v != null && v.isBoolean();
            case "number" -> v != null && v.isNumber();
            case "integer" -> v != null && v.isIntegralNumber();
            case "string_list" -> {
                boolean ok = v != null && v.isArray();
                for (int i = 0; ok && i < v.size(); i++) {
                    ok = v.get(i).isTextual();
                }
                yield ok;
            }
            default -> throw new IllegalStateException("config_rules.json: unknown type '" + kind + "'");
        };
    }

    /** Python's comparison of a JSON number with a bound: {@code sign} of value - bound, NaN gives null. */
    private static Integer compare(JsonNode v, double bound) {
        if (v.isIntegralNumber()) {
            return new BigDecimal(v.bigIntegerValue()).compareTo(BigDecimal.valueOf(bound));
        }
        double d = v.doubleValue();
        return Double.isNaN(d) ? null : Double.compare(d, bound);
    }

    private static boolean inRange(JsonNode node, JsonNode v) {
        Integer c;
        if (node.has("above") && ((c = compare(v, node.get("above").doubleValue())) == null || c <= 0)) {
            return false;
        }
        if (node.has("at_least") && ((c = compare(v, node.get("at_least").doubleValue())) == null || c < 0)) {
            return false;
        }
        return !node.has("at_most") || ((c = compare(v, node.get("at_most").doubleValue())) != null && c <= 0);
    }

    private static void node(JsonNode node, JsonNode v, Map<String, String> fields) throws ConfigException {
        String text = node.path("message").asText("");
        if (!typeOk(node.path("type").asText(null), v)) {
            throw fail(text, fields, v);
        }
        if (node.has("enum")) {
            boolean ok = false;
            List<String> allowed = new ArrayList<>();
            for (JsonNode e : node.get("enum")) {
                allowed.add(e.textValue());
                ok |= v.isTextual() && e.textValue().equals(v.textValue());
            }
            if (!ok) {
                Map<String, String> f = new HashMap<>(fields);
                f.put("expected", PythonRepr.of(allowed));
                throw fail(text, f, v);
            }
        }
        if ((node.has("above") || node.has("at_least") || node.has("at_most")) && !inRange(node, v)) {
            throw fail(text, fields, v);
        }
        if ("input_shape".equals(node.path("format").asText(null))) {
            InputShape.parse(v.textValue());
        }
        if (node.has("supported")) {
            JsonNode rule = node.get("supported");
            JsonNode op = v.get(rule.get("op").textValue());
            JsonNode strategy = v.get(rule.get("strategy").textValue());
            if (op != null && op.isTextual() && !Strategies.isSupported(op.textValue(), strategy.textValue())) {
                throw unsupported(fields.get("_name"), op.textValue(), strategy.textValue());
            }
        }
        for (JsonNode member : node.path("members")) {
            member(member, v, fields);
        }
    }

    private static void member(JsonNode member, JsonNode obj, Map<String, String> fields) throws ConfigException {
        if (member.has("key")) {
            JsonNode node = member.get("node");
            JsonNode value = obj.get(member.get("key").textValue());
            boolean present = value != null && !(node.path("falsy_is_absent").asBoolean() && isFalsy(value));
            if (!present) {
                if (node.path("required").asBoolean()) {
                    throw fail(node.path("missing").asText(node.path("message").asText("")), fields, value);
                }
                return;
            }
            node(node, value, fields);
        } else if (member.has("each")) {
            boolean hintsOnly = member.path("hint").asBoolean();
            for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (isComment(e.getKey()) || (hintsOnly && Strategies.opTypeOfHintKey(e.getKey()).isEmpty())) {
                    continue;
                }
                Map<String, String> f = new HashMap<>(fields);
                f.put(member.get("each").textValue(), PythonRepr.of(e.getKey()));
                f.put("_name", e.getKey());
                node(member.get("node"), e.getValue(), f);
            }
        } else if (member.has("only")) {
            List<String> only = new ArrayList<>();
            member.get("only").forEach(k -> only.add(k.textValue()));
            List<String> unknown = new ArrayList<>();
            obj.fieldNames().forEachRemaining(k -> {
                if (!isComment(k) && !only.contains(k)) {
                    unknown.add(k);
                }
            });
            if (!unknown.isEmpty()) {
                Map<String, String> f = new HashMap<>(fields);
                f.put("unknown", PythonRepr.of(unknown));
                f.put("key", PythonRepr.of(unknown.get(0)));
                f.put("expected", PythonRepr.of(new ArrayList<>(new TreeSet<>(only))));
                throw new ConfigException(message(member.get("message").textValue(), f));
            }
        } else {
            throw new IllegalStateException("config_rules.json: a member needs 'key', 'each' or 'only'");
        }
    }

    /** Python's truthiness of a JSON value ({@code x or {}}): None, {}, [], "", 0 and false are false. */
    static boolean isFalsy(JsonNode node) {
        return node.isNull() || (node.isContainerNode() && node.isEmpty())
                || (node.isTextual() && node.textValue().isEmpty())
                || (node.isNumber() && node.doubleValue() == 0.0) || (node.isBoolean() && !node.booleanValue());
    }
}
