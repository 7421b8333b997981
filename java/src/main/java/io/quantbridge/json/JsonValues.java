package io.quantbridge.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversion between the plain Java values the Python bridge hands over (maps, lists, boxed
 * numbers, primitive arrays, numpy arrays as objects with {@code getData()}) and Jackson trees.
 *
 * <p>Maps keep their iteration order: pass a {@link java.util.LinkedHashMap} (or JSON text) where
 * order matters. No JEP class is referenced: array-like objects are read through a public
 * {@code getData()} method returning a primitive array.
 */
public final class JsonValues {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private JsonValues() {
    }

    /**
     * The JSON tree of a bridge value.
     *
     * @param where the value's place, used in messages (e.g. {@code layers[2].weight})
     * @throws IllegalArgumentException if a value has no JSON form (names {@code where} and the type)
     */
    public static JsonNode toTree(Object value, String where) {
        if (value == null) {
            return F.nullNode();
        }
        if (value instanceof JsonNode n) {
            return n;
        }
        if (value instanceof CharSequence s) {
            return F.textNode(s.toString());
        }
        if (value instanceof Boolean b) {
            return F.booleanNode(b);
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return F.numberNode(((Number) value).longValue());
        }
        if (value instanceof BigInteger bi) {
            return F.numberNode(bi);
        }
        if (value instanceof Float f) {
            return F.numberNode((double) f);
        }
        if (value instanceof Double || value instanceof BigDecimal) {
            return F.numberNode(((Number) value).doubleValue());
        }
        if (value instanceof Map<?, ?> m) {
            ObjectNode o = F.objectNode();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String key = String.valueOf(e.getKey());
                o.set(key, toTree(e.getValue(), where + "." + key));
            }
            return o;
        }
        if (value instanceof Iterable<?> it) {
            ArrayNode a = F.arrayNode();
            int i = 0;
            for (Object o : it) {
                a.add(toTree(o, where + "[" + i++ + "]"));
            }
            return a;
        }
        ArrayNode primitive = primitiveArray(value);
        if (primitive != null) {
            return primitive;
        }
        if (value instanceof Object[] arr) {
            return toTree(List.of(arr), where);
        }
        Object data = dataOf(value);
        if (data != null) {
            return toTree(data, where);
        }
        throw new IllegalArgumentException(where + " is a " + value.getClass().getName()
                + "; expected a string, number, boolean, None, list, dict or numeric array");
    }

    /** The plain Java form of a JSON tree: LinkedHashMap, ArrayList, String, Long/BigInteger, Double, Boolean, null. */
    public static Object toPlain(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), toPlain(e.getValue()));
            }
            return m;
        }
        if (node.isArray()) {
            List<Object> l = new ArrayList<>(node.size());
            node.forEach(n -> l.add(toPlain(n)));
            return l;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        return node.asText();
    }

    private static ArrayNode primitiveArray(Object value) {
        ArrayNode a = F.arrayNode();
        if (value instanceof double[] d) {
            for (double x : d) {
                a.add(x);
            }
        } else if (value instanceof float[] f) {
            for (float x : f) {
                a.add((double) x);
            }
        } else if (value instanceof long[] l) {
            for (long x : l) {
                a.add(x);
            }
        } else if (value instanceof int[] n) {
            for (int x : n) {
                a.add(x);
            }
        } else if (value instanceof short[] s) {
            for (short x : s) {
                a.add(x);
            }
        } else if (value instanceof byte[] b) {
            for (byte x : b) {
                a.add(x);
            }
        } else if (value instanceof boolean[] b) {
            for (boolean x : b) {
                a.add(x);
            }
        } else {
            return null;
        }
        return a;
    }

    /** {@code value.getData()} for array wrappers such as {@code jep.NDArray}, or null. */
    private static Object dataOf(Object value) {
        try {
            Method m = value.getClass().getMethod("getData");
            if (m.getParameterCount() != 0) {
                return null;
            }
            Object data = m.invoke(value);
            return data != null && data.getClass().isArray() ? data : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
