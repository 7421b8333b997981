package io.quantbridge.json;

import com.fasterxml.jackson.databind.JsonNode;

import com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Values quoted in error messages the way Python's {@code repr()} shows them, so that a message
 * reads the same whichever side raised it ({@code 'conv1'}, {@code ['float', 'Quant_INT8-8']},
 * {@code None}, {@code 1e-05}). Only messages use it; no file is written with it.
 */
public final class PythonRepr {
    private PythonRepr() {
    }

    /**
     * {@code repr(value)} for strings, numbers, booleans, null, collections, maps and Jackson
     * nodes; other objects use {@code toString()}.
     */
    public static String of(Object value) {
        StringBuilder sb = new StringBuilder();
        append(sb, value);
        return sb.toString();
    }

    /** The Python type name of a JSON value as {@code json.load} returns it ({@code str}, {@code list}, ...). */
    public static String typeName(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return "NoneType";
        }
        if (node.isObject()) {
            return "dict";
        }
        if (node.isArray()) {
            return "list";
        }
        if (node.isTextual()) {
            return "str";
        }
        if (node.isBoolean()) {
            return "bool";
        }
        if (node.isIntegralNumber()) {
            return "int";
        }
        if (node.isNumber()) {
            return "float";
        }
        return node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * A finite double as Python's {@code repr(float)} writes it: the fewest digits that read back
     * as {@code x}, in exponent form below {@code 1e-4} and from {@code 1e16} ({@code 1e-05}).
     */
    static String floatRepr(double x) {
        if (x == 0.0) {
            return (Double.doubleToRawLongBits(x) < 0) ? "-0.0" : "0.0";
        }
        BigDecimal shortest = new BigDecimal(DoubleToDecimal.toString(x)).stripTrailingZeros();
        if (shortest.precision() == 2) {    // Java keeps two digits where one reads back too (5e-324)
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.DOWN, RoundingMode.UP}) {
                BigDecimal one = shortest.round(new MathContext(1, mode));
                if (one.doubleValue() == x) {
                    shortest = one.stripTrailingZeros();
                    break;
                }
            }
        }
        String digits = shortest.unscaledValue().abs().toString();
        int decpt = digits.length() - shortest.scale(); // |x| = 0.DIGITS * 10^decpt
        StringBuilder sb = new StringBuilder(24).append(x < 0 ? "-" : "");
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0)).append(digits.length() > 1 ? "." + digits.substring(1) : "");
            int exp = decpt - 1;
            return sb.append(exp < 0 ? "e-" : "e+").append(Math.abs(exp) < 10 ? "0" : "").append(Math.abs(exp))
                    .toString();
        }
        if (decpt <= 0) {
            return sb.append("0.").append("0".repeat(-decpt)).append(digits).toString();
        }
        if (decpt >= digits.length()) {
            return sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0").toString();
        }
        return sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length()).toString();
    }

    private static void append(StringBuilder sb, Object value) {
        if (value == null) {
            sb.append("None");
        } else if (value instanceof JsonNode node) {
            appendNode(sb, node);
        } else if (value instanceof CharSequence s) {
            appendString(sb, s.toString());
        } else if (value instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            sb.append(Double.isNaN(d) ? "nan" : Double.isInfinite(d) ? (d > 0 ? "inf" : "-inf")
                    : floatRepr(d));
        } else if (value instanceof Collection<?> c) {
            sb.append('[');
            boolean first = true;
            for (Object o : c) {
                sb.append(first ? "" : ", ");
                first = false;
                append(sb, o);
            }
            sb.append(']');
        } else if (value instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ");
                first = false;
                append(sb, e.getKey());
                sb.append(": ");
                append(sb, e.getValue());
            }
            sb.append('}');
        } else {
            sb.append(value);
        }
    }

    private static void appendNode(StringBuilder sb, JsonNode node) {
        if (node.isNull() || node.isMissingNode()) {
            sb.append("None");
        } else if (node.isTextual()) {
            appendString(sb, node.textValue());
        } else if (node.isBoolean()) {
            sb.append(node.booleanValue() ? "True" : "False");
        } else if (node.isIntegralNumber()) {
            sb.append(node.bigIntegerValue());
        } else if (node.isNumber()) {
            append(sb, node.doubleValue());
        } else if (node.isArray()) {
            sb.append('[');
            for (int i = 0; i < node.size(); i++) {
                sb.append(i == 0 ? "" : ", ");
                appendNode(sb, node.get(i));
            }
            sb.append(']');
        } else if (node.isObject()) {
            sb.append('{');
            Iterator<Map.Entry<String, JsonNode>> it = node.fields();
            boolean first = true;
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                sb.append(first ? "" : ", ");
                first = false;
                appendString(sb, e.getKey());
                sb.append(": ");
                appendNode(sb, e.getValue());
            }
            sb.append('}');
        } else {
            sb.append(node);
        }
    }

    /** Python's str repr: single quotes unless the text holds ' and no ". */
    private static void appendString(StringBuilder sb, String s) {
        char quote = (s.indexOf('\'') >= 0 && s.indexOf('"') < 0) ? '"' : '\'';
        sb.append(quote);
        s.codePoints().forEach(cp -> {
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (isPrintable(cp)) {
                sb.appendCodePoint(cp);
            } else if (cp < 0x100) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp < 0x10000) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.append(String.format("\\U%08x", cp));
            }
        });
        sb.append(quote);
    }

    private static boolean isPrintable(int cp) {
        if (cp == ' ') {
            return true;
        }
        int type = Character.getType(cp);
        return switch (type) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                    Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }
}
