package io.quantbridge.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps(obj, indent=2, ensure_ascii=...)} writes it,
 * and a parser that accepts what Python's {@code json} module writes (including {@code NaN} and
 * {@code Infinity}).
 *
 * <p>Layout: two-space indentation, one array element or object member per line,
 * {@code "key": value}, empty containers as {@code []} and {@code {}}, member order kept. Floats
 * are printed like Python's {@code repr(float)} (shortest round-trip digits; exponent form below
 * {@code 1e-4} and from {@code 1e16}, e.g. {@code 1e-05}, {@code 1e+16}); integers in full.
 */
public final class PythonJson {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final RoundingMode[] CANDIDATES = {RoundingMode.HALF_EVEN, RoundingMode.DOWN, RoundingMode.UP};

    private PythonJson() {
    }

    /** The shared, configured Jackson mapper (do not reconfigure it). */
    public static JsonMapper mapper() {
        return MAPPER;
    }

    /**
     * Parses JSON text into a Jackson tree (objects keep their member order).
     *
     * @throws JsonProcessingException if the text is not valid JSON
     */
    public static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /**
     * The text of {@code json.dumps(node, indent=2, ensure_ascii=ensureAscii) + "\n"}.
     *
     * @param ensureAscii true to escape every non-ASCII character as {@code \}{@code uXXXX}
     * @throws IllegalArgumentException if the tree holds a node JSON cannot express (binary, POJO)
     */
    public static String dumps(JsonNode node, boolean ensureAscii) {
        StringBuilder sb = new StringBuilder(256);
        write(sb, node, 0, ensureAscii);
        return sb.append('\n').toString();
    }

    private static void write(StringBuilder sb, JsonNode node, int level, boolean ascii) {
        switch (node.getNodeType()) {
            case OBJECT -> {
                if (node.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                Iterator<Map.Entry<String, JsonNode>> it = node.fields();
                boolean first = true;
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    sb.append(first ? "\n" : ",\n");
                    first = false;
                    indent(sb, level + 1);
                    string(sb, e.getKey(), ascii);
                    sb.append(": ");
                    write(sb, e.getValue(), level + 1, ascii);
                }
                sb.append('\n');
                indent(sb, level);
                sb.append('}');
            }
            case ARRAY -> {
                if (node.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < node.size(); i++) {
                    sb.append(i == 0 ? "\n" : ",\n");
                    indent(sb, level + 1);
                    write(sb, node.get(i), level + 1, ascii);
                }
                sb.append('\n');
                indent(sb, level);
                sb.append(']');
            }
            case STRING -> string(sb, node.textValue(), ascii);
            case NUMBER -> sb.append(node.isIntegralNumber() ? node.bigIntegerValue().toString()
                    : floatRepr(node.doubleValue()));
            case BOOLEAN -> sb.append(node.booleanValue() ? "true" : "false");
            case NULL -> sb.append("null");
            default -> throw new IllegalArgumentException("cannot write a JSON node of type "
                    + node.getNodeType() + "; expected object, array, string, number, boolean or null");
        }
    }

    private static void indent(StringBuilder sb, int level) {
        for (int i = 0; i < level; i++) {
            sb.append("  ");
        }
    }

    /** Appends a JSON string literal the way Python's json encoder writes it. */
    static void string(StringBuilder sb, String s, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ascii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * A double as JSON text the way Python writes a float: {@code repr(x)} for finite values,
     * {@code NaN}, {@code Infinity}, {@code -Infinity} otherwise.
     */
    public static String floatRepr(double x) {
        if (Double.isNaN(x)) {
            return "NaN";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "Infinity" : "-Infinity";
        }
        if (x == 0.0) {
            return (Double.doubleToRawLongBits(x) < 0) ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortest(x);
        String digits = shortest.unscaledValue().abs().toString();
        int decpt = digits.length() - shortest.scale(); // x = 0.DIGITS * 10^decpt
        StringBuilder sb = new StringBuilder(24);
        if (x < 0) {
            sb.append('-');
        }
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            int abs = Math.abs(exp);
            if (abs < 10) {
                sb.append('0');
            }
            sb.append(abs);
        } else if (decpt <= 0) {
            sb.append("0.");
            sb.append("0".repeat(-decpt));
            sb.append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }

    /** The shortest decimal that reads back as {@code x}, closest to {@code x} among those. */
    private static BigDecimal shortest(double x) {
        BigDecimal exact = new BigDecimal(x);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal best = null;
            BigDecimal bestDistance = null;
            for (RoundingMode mode : CANDIDATES) {
                BigDecimal candidate = exact.round(new MathContext(precision, mode));
                if (candidate.doubleValue() != x) {
                    continue;
                }
                BigDecimal distance = candidate.subtract(exact).abs();
                if (best == null || distance.compareTo(bestDistance) < 0) {
                    best = candidate;
                    bestDistance = distance;
                }
            }
            if (best != null) {
                return best.stripTrailingZeros();
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
    }
}
