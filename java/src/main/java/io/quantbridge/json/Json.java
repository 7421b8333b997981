package io.quantbridge.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON reader and writer of every file QuantBridge's Java side reads or writes.
 *
 * <p>Reading accepts what Python's {@code json} module writes ({@code NaN} and {@code Infinity}
 * included), keeps the member order of objects and refuses trailing text. Writing uses the
 * vendor's layout, that of {@code json.dumps(obj, indent=2)}: two-space indentation, one array
 * element or object member per line, {@code "key": value}, empty containers as {@code []} and
 * {@code {}}, member order kept, a final newline. Numbers are written with the fewest digits
 * that read back as the same double (the notation is Java's: {@code 1.0E-5}); a non-finite number
 * that was read ({@code NaN}, {@code Infinity}) is written back as it was, not as a string.
 */
public final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .build();
    private static final DefaultIndenter INDENT = new DefaultIndenter("  ", "\n");
    private static final DefaultPrettyPrinter LAYOUT = new DefaultPrettyPrinter(Separators.createDefaultInstance()
            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
            .withObjectEmptySeparator("")
            .withArrayEmptySeparator(""))
            .withObjectIndenter(INDENT)
            .withArrayIndenter(INDENT);
    private static final ObjectWriter WRITER = MAPPER.writer(LAYOUT);
    private static final ObjectWriter ASCII_WRITER = WRITER.with(JsonWriteFeature.ESCAPE_NON_ASCII);

    private Json() {
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
     * The file text of {@code node} in the layout above.
     *
     * @param asciiOnly true to escape every non-ASCII character as {@code \}{@code uXXXX}
     * @throws IllegalArgumentException if the tree holds a value JSON cannot express
     */
    public static String write(JsonNode node, boolean asciiOnly) {
        try {
            return (asciiOnly ? ASCII_WRITER : WRITER).writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write the JSON tree: " + e.getOriginalMessage(), e);
        }
    }
}
