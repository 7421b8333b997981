package io.quantbridge.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Values written the way Python's {@code repr()} shows them, so that Java error messages read
 * exactly like the shim's ({@code 'conv1'}, {@code ['float', 'Quant_INT8-8']}, {@code None}).
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
                    : PythonJson.floatRepr(d));
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
