package io.quantbridge.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Byte-compatibility with Python's json module. The fixtures were written by
 * {@code json.dumps(obj, indent=2[, ensure_ascii=False]) + "\n"} (Python 3.10).
 */
class PythonJsonTest {
    @Test
    void floatsAreWrittenLikePythonRepr() throws Exception {
        // 5,500 doubles: random bit patterns, float32 values, powers of ten, edge cases, NaN/Infinity
        String text = Files.readString(Fixtures.path("config/python_floats.json"), StandardCharsets.UTF_8);
        assertEquals(text, PythonJson.dumps(PythonJson.parse(text), true));
    }

    @Test
    void stringsAreEscapedLikePython() throws Exception {
        for (boolean ascii : new boolean[] {true, false}) {
            String name = ascii ? "config/python_strings_ascii.json" : "config/python_strings_utf8.json";
            String text = Files.readString(Fixtures.path(name), StandardCharsets.UTF_8);
            assertEquals(text, PythonJson.dumps(PythonJson.parse(text), ascii), name);
        }
    }

    @Test
    void knownFloatReprs() {
        assertEquals("99.99", PythonJson.floatRepr(99.99));
        assertEquals("1e-05", PythonJson.floatRepr(1e-5));
        assertEquals("0.0001", PythonJson.floatRepr(1e-4));
        assertEquals("1e+16", PythonJson.floatRepr(1e16));
        assertEquals("1000000000000000.0", PythonJson.floatRepr(1e15));
        assertEquals("9.99999993922529e-09", PythonJson.floatRepr(1e-8f));
        assertEquals("-0.0", PythonJson.floatRepr(-0.0));
        assertEquals("5e-324", PythonJson.floatRepr(Double.MIN_VALUE));
        assertEquals("1.7976931348623157e+308", PythonJson.floatRepr(Double.MAX_VALUE));
        assertEquals("2.0", PythonJson.floatRepr(2));
        assertEquals("Infinity", PythonJson.floatRepr(Double.POSITIVE_INFINITY));
    }

    @Test
    void layoutOfEmptyAndNestedContainers() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        JsonNode n = f.objectNode().<com.fasterxml.jackson.databind.node.ObjectNode>set("a", f.arrayNode())
                .<com.fasterxml.jackson.databind.node.ObjectNode>set("b", f.objectNode())
                .set("c", f.arrayNode().add(1).add(f.arrayNode().add("x")));
        assertEquals("{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    [\n      \"x\"\n    ]\n  ]\n}\n",
                PythonJson.dumps(n, false));
    }

    @Test
    void pythonReprOfValues() {
        assertEquals("'conv1'", PythonRepr.of("conv1"));
        assertEquals("\"<class 'torch.nn.modules.conv.Conv2d'>\"", PythonRepr.of("<class 'torch.nn.modules.conv.Conv2d'>"));
        assertEquals("'it\\'s \"q\"'", PythonRepr.of("it's \"q\""));
        assertEquals("['float', 'Quant_INT8-8']", PythonRepr.of(java.util.List.of("float", "Quant_INT8-8")));
        assertEquals("None", PythonRepr.of(null));
        assertEquals("'a\\x00\\n'", PythonRepr.of("a\0\n"));
        assertEquals("'生成'", PythonRepr.of("生成"));
    }
}
