package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The vendor's {@code input_shape} string, {@code "x:1,3,224,224;y:1,10"}: the deployed model's
 * inputs with their dimensions. The pattern and the messages are the {@code input_shape} entry of
 * the shim's {@code config_rules.json}, which the shim's {@code parse_input_shape} reads too.
 *
 * @param inputs the named inputs in order (at least one, names unique)
 */
public record InputShape(List<Input> inputs) {
    /** The format's pattern and messages: {@code input_shape} of {@code config_rules.json}, shared with the shim. */
    private static final JsonNode RULES = ConfigRules.get("input_shape");
    private static final Pattern PART = Pattern.compile(RULES.get("part").textValue(), Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern EDGE_SPACE = Pattern.compile("^\\s+|\\s+$", Pattern.UNICODE_CHARACTER_CLASS);

    /**
     * One named input.
     *
     * @param name the input name
     * @param dims its dimensions, all positive
     */
    public record Input(String name, List<Long> dims) {
        /**
         * Checks the name and dimensions.
         *
         * @throws IllegalArgumentException if there are no dimensions or one is not positive
         */
        public Input {
            Objects.requireNonNull(name, "name");
            dims = List.copyOf(dims);
            if (dims.isEmpty() || dims.stream().anyMatch(d -> d <= 0)) {
                throw new IllegalArgumentException("input " + PythonRepr.of(name) + " has dimensions " + dims
                        + "; expected at least one dimension, all positive");
            }
        }

        /** The dimensions as an array (for ONNX Runtime tensor shapes). */
        public long[] shape() {
            return dims.stream().mapToLong(Long::longValue).toArray();
        }
    }

    /**
     * Checks the inputs.
     *
     * @throws IllegalArgumentException if there is no input or a name repeats
     */
    public InputShape {
        inputs = List.copyOf(inputs);
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("an input shape needs at least one input");
        }
        Set<String> seen = new HashSet<>();
        for (Input in : inputs) {
            if (!seen.add(in.name())) {
                throw new IllegalArgumentException("input shape names input " + PythonRepr.of(in.name()) + " twice");
            }
        }
    }

    /** A single-input shape, e.g. {@code of("x", 1, 3, 224, 224)}. */
    public static InputShape of(String name, long... dims) {
        List<Long> list = new ArrayList<>();
        for (long d : dims) {
            list.add(d);
        }
        return new InputShape(List.of(new Input(name, list)));
    }

    /**
     * Parses {@code "x:1,3,224,224;y:1,10"} (spaces around tokens and a trailing {@code ;} allowed).
     *
     * @throws ConfigException if the text is blank, a part is malformed, a dimension is not a
     *     positive integer, or an input is named twice
     */
    public static InputShape parse(String text) throws ConfigException {
        if (text == null || strip(text).isEmpty()) {
            throw error("blank", "value", PythonRepr.of(text));
        }
        String body = stripSemicolons(strip(text));
        List<Input> out = new ArrayList<>();
        for (String part : body.split(";", -1)) {
            Matcher m = PART.matcher(part);
            if (!m.matches()) {
                throw error("part_malformed", "part", PythonRepr.of(part), "value", PythonRepr.of(text));
            }
            List<Long> dims = new ArrayList<>();
            for (String d : m.group(2).split(",")) {
                try {
                    dims.add(Long.parseLong(strip(d)));
                } catch (NumberFormatException e) {
                    throw error("too_large", "part", PythonRepr.of(part), "dim", PythonRepr.of(strip(d)));
                }
            }
            if (dims.stream().anyMatch(d -> d <= 0)) {
                throw error("not_positive", "part", PythonRepr.of(part));
            }
            out.add(new Input(m.group(1), dims));
        }
        Set<String> names = new HashSet<>();
        for (Input in : out) {
            if (!names.add(in.name())) {
                throw error("twice", "value", PythonRepr.of(text));
            }
        }
        return new InputShape(out);
    }

    private static ConfigException error(String rule, String... fields) {
        Map<String, String> f = new HashMap<>();
        for (int i = 0; i < fields.length; i += 2) {
            f.put(fields[i], fields[i + 1]);
        }
        return new ConfigException(ConfigRules.message(RULES.get(rule).textValue(), f));
    }

    /** The input called {@code name}, if present. */
    public Optional<Input> input(String name) {
        return inputs.stream().filter(i -> i.name().equals(name)).findFirst();
    }

    /** The vendor's text form, {@code "x:1,3,224,224;y:1,10"} (the shim's {@code format_input_shape}). */
    public String format() {
        return inputs.stream()
                .map(i -> i.name() + ":" + i.dims().stream().map(String::valueOf).collect(Collectors.joining(",")))
                .collect(Collectors.joining(";"));
    }

    /** Same as {@link #format()}. */
    @Override
    public String toString() {
        return format();
    }

    private static String strip(String s) {
        return EDGE_SPACE.matcher(s).replaceAll("");
    }

    private static String stripSemicolons(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && s.charAt(start) == ';') {
            start++;
        }
        while (end > start && s.charAt(end - 1) == ';') {
            end--;
        }
        return s.substring(start, end);
    }
}
