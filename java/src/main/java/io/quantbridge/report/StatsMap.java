package io.quantbridge.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Typed reads from a map the Python bridge returned (numbers as {@link Long} or {@link Double},
 * {@code None} as null), with messages naming the layer and key path.
 */
final class StatsMap {
    private final Map<?, ?> map;
    private final String where;

    StatsMap(Map<?, ?> map, String where) {
        if (map == null) {
            throw new IllegalArgumentException(where + ": expected a dict of layer statistics, got None");
        }
        this.map = map;
        this.where = where;
    }

    static StatsMap of(Object value, String where) {
        if (value != null && !(value instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(where + ": expected a dict of layer statistics, got "
                    + value.getClass().getSimpleName());
        }
        return new StatsMap((Map<?, ?>) value, where);
    }

    String where() {
        return where;
    }

    String string(String key) {
        Object v = require(key);
        if (v instanceof String s) {
            return s;
        }
        throw wrongType(key, "a string", v);
    }

    boolean bool(String key) {
        Object v = require(key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw wrongType(key, "a boolean", v);
    }

    /** A number or null (a missing key reads as null). */
    Double number(String key) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw wrongType(key, "a number or None", v);
    }

    /** An integer or null (a missing key reads as null). */
    Long integer(String key) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        throw wrongType(key, "an integer or None", v);
    }

    long integer(String key, long absent) {
        Long v = integer(key);
        return v == null ? absent : v;
    }

    List<Long> integers(String key) {
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw wrongType(key, "a list of integers", v);
        }
        List<Long> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof Long || o instanceof Integer)) {
                throw wrongType(key, "a list of integers", o);
            }
            out.add(((Number) o).longValue());
        }
        return out;
    }

    /** A nested dict, or null when the key is absent or None. */
    StatsMap child(String key) {
        Object v = map.get(key);
        return v == null ? null : of(v, where + "." + key);
    }

    private Object require(String key) {
        Object v = map.get(key);
        if (v == null) {
            throw new IllegalArgumentException(where + ": missing '" + key + "'; expected the keys of "
                    + "quantbridge.analysis layer statistics, got " + map.keySet());
        }
        return v;
    }

    private IllegalArgumentException wrongType(String key, String expected, Object got) {
        return new IllegalArgumentException(where + "." + key + ": expected " + expected + ", got "
                + (got == null ? "None" : got.getClass().getSimpleName() + " " + got));
    }
}
