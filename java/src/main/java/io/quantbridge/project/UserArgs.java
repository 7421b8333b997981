package io.quantbridge.project;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Keyword arguments for the user's functions from {@code KEY=VALUE} options: a value that reads
 * as JSON ({@code 3}, {@code 0.5}, {@code true}, {@code null}, {@code [1, 2]}, {@code "text"}) is
 * passed as that value, anything else as a string.
 */
public final class UserArgs {
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private UserArgs() {
    }

    /**
     * Converts the raw {@code KEY=VALUE} pairs of {@code option}.
     *
     * @throws IllegalArgumentException if a key is not a Python identifier
     */
    public static Map<String, Object> parse(Map<String, String> raw, String option) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (raw == null) {
            return out;
        }
        for (Map.Entry<String, String> e : raw.entrySet()) {
            if (!IDENTIFIER.matcher(e.getKey()).matches()) {
                throw new IllegalArgumentException(option + " " + e.getKey() + "=" + e.getValue() + ": the key must be a "
                        + "Python identifier (a keyword argument name), e.g. " + option + " epochs=2");
            }
            out.put(e.getKey(), value(e.getValue()));
        }
        return out;
    }

    /** One value: JSON if it parses, else the text itself. */
    public static Object value(String text) {
        if (text == null) {
            return null;
        }
        try {
            return JSON.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            return text;
        }
    }
}
