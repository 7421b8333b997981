package io.quantbridge.params;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Fixtures;
import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The parameter file. {@code params/python_quant_param.json} is a version-1 file as the shim wrote
 * them before version 2 (kept as it is on purpose: old files stay readable). Files the shim
 * writes today are read live by the end-to-end {@code ParamFileOwnerTest}.
 */
class ParamFileTest {
    private static final Path PY = Fixtures.path("params/python_quant_param.json");

    @Test
    void readsThePythonFile() throws Exception {
        QuantParams p = ParamFile.read(PY);
        assertEquals(Framework.TORCH, p.framework());
        assertEquals(new ModelInfo("digits_cnn.onnx", "ceab8bacae99c1b04ce7487d9872e3536c7113050a11142667557421fa9a2ad1",
                "x:1,1,8,8", List.of("logits")), p.model());
        assertEquals(List.of("conv1", "блок2.conv", "fc"), p.layers().stream().map(LayerParams::name).toList());
        LayerParams conv1 = p.layers().get(0);
        assertEquals("/conv1/Conv", conv1.node());
        assertEquals(new WeightParams("conv1.weight", "int8", 8, true, 0, List.of(0.004024669528007507,
                0.005233069881796837, 0.0030473826918751, 0.001578446594066918), List.of(0, 0, 0, 0)), conv1.weight());
        assertEquals(ActivationParams.uint8("x", 0.012670588679611683, 58, -0.731, 2.5), conv1.activation());
        LayerParams float2 = p.layers().get(1);
        assertNull(float2.weight());
        assertNull(float2.activation());
        assertEquals(List.of("conv1", "fc"), p.quantizedLayers().stream().map(LayerParams::name).toList());
    }

    @Test
    void depthwiseChannelAxesRoundTrip(@TempDir Path dir) throws Exception {
        // written by the TensorFlow shim's entry for a depthwise filter [3, 3, 2, 2] (multiplier 2)
        Path py = Fixtures.path("params/tf_depthwise_quant_param.json");
        QuantParams p = ParamFile.read(py);
        WeightParams w = p.layers().get(0).weight();
        assertTrue(w.multiAxis());
        assertEquals(List.of(2, 3), w.channelAxes());
        assertEquals(2, w.axis());
        assertEquals(4, w.scale().size());
        Path out = ParamFile.write(dir.resolve("dw.json"), p);
        assertEquals(p, ParamFile.read(out));
        assertTrue(Files.readString(out, StandardCharsets.UTF_8).contains("\"channel_axes\": [\n"));
        assertStable(p);
        assertThrows(IllegalArgumentException.class, () -> new WeightParams("t", "int8", 8, true, 3,
                List.of(1.0), List.of(0), List.of(), List.of(2, 3)));
    }

    @Test
    void writesWhatItReads(@TempDir Path dir) throws Exception {
        // a version-1 file reads, and is written as version 2 with no points
        QuantParams p = ParamFile.read(PY);
        Path out = ParamFile.write(dir.resolve("q.json"), p);
        assertEquals(p, ParamFile.read(out));
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertTrue(text.startsWith("{\n  \"format\": \"quantbridge-quant-params\",\n  \"version\": 2,\n"), text);
        assertTrue(text.endsWith("\n  \"points\": []\n}\n"), text);
        assertTrue(text.contains("\"\\u0431\\u043B\\u043E\\u043A2.conv\""), "ASCII-escaped: " + text);
        assertStable(p);
        // a version-2 file with points
        QuantParams p2 = ParamFile.read(Fixtures.path("onnx/residual_cnn_quant_param.json"));
        assertTrue(p2.points().size() > 5);
        assertEquals(p2, ParamFile.read(ParamFile.write(dir.resolve("v2.json"), p2)));
        assertStable(p2);
        assertThrows(QuantBridgeException.class, () -> ParamFile.write(out, p, false));
    }

    @Test
    void buildsFromBridgeValues() throws Exception {
        Map<String, Object> weight = new LinkedHashMap<>();
        weight.put("tensor", "fc.weight");
        weight.put("dtype", "int8");
        weight.put("bits", 8L);
        weight.put("symmetric", true);
        weight.put("axis", 0L);
        weight.put("scale", new FakeNdArray(new float[] {0.5f, 0.25f}));   // numpy float32 array via getData()
        weight.put("zero_point", new long[] {0, 0});
        Map<String, Object> act = new LinkedHashMap<>();
        act.put("tensor", "flat");
        act.put("dtype", "uint8");
        act.put("bits", 8);
        act.put("symmetric", false);
        act.put("scale", 0.02f);
        act.put("zero_point", 12L);
        act.put("min", -0.24);
        act.put("max", 4.86);
        Map<String, Object> fc = new LinkedHashMap<>();
        fc.put("name", "fc");
        fc.put("op_type", "<class 'torch.nn.modules.linear.Linear'>");
        fc.put("quant_strategy", "Quant_INT8-8");
        fc.put("node", "/fc/Gemm");
        fc.put("weight", weight);
        fc.put("activation", act);
        Map<String, Object> conv = new LinkedHashMap<>();
        conv.put("name", "conv");
        conv.put("op_type", "<class 'torch.nn.modules.conv.Conv2d'>");
        conv.put("quant_strategy", "float");
        conv.put("node", null);
        conv.put("weight", null);
        QuantParams p = QuantParams.fromLayerMaps("torch", List.of(conv, fc));
        assertNull(p.model());
        WeightParams w = p.layer("fc").orElseThrow().weight();
        assertEquals(List.of(0.5, 0.25), w.scale());
        assertEquals((double) 0.02f, p.layer("fc").orElseThrow().activation().scale());
        assertEquals(12, p.layer("fc").orElseThrow().activation().zeroPoint());
        assertThrows(IllegalArgumentException.class, () -> ParamFile.toJson(p));
        QuantParams withModel = p.withModel("m.onnx", "ab", InputShape.of("x", 1, 3), List.of("y"));
        assertEquals(withModel, ParamFile.parse(ParamFile.toJson(withModel), "round trip"));

        Map<String, Object> whole = new LinkedHashMap<>();
        whole.put("format", "quantbridge-quant-params");
        whole.put("version", 1L);
        whole.put("framework", "torch");
        whole.put("model", Map.of("file", "m.onnx", "sha256", "ab", "outputs", List.of("y"), "input_shape", "x:1,3"));
        whole.put("layers", new ArrayList<>(List.of(conv, fc)));
        assertEquals(withModel, QuantParams.fromMaps(whole));
    }

    @Test
    void bridgeValueErrorsNameTheKey() {
        Map<String, Object> bad = new LinkedHashMap<>();
        bad.put("name", "fc");
        bad.put("op_type", "x");
        bad.put("quant_strategy", "Quant_INT8-8");
        bad.put("weight", Map.of("tensor", "w", "axis", 0, "scale", List.of(0.1, "big")));
        var e = assertThrows(QuantBridgeException.class, () -> QuantParams.fromLayerMaps(Framework.TORCH, List.of(bad)));
        assertEquals("Python parameters: layers[0] ('fc').weight.scale[1] is 'big' (str); expected a number",
                e.getMessage());
        bad.put("weight", Map.of("tensor", "w", "axis", 0, "scale", new Object()));
        var e2 = assertThrows(QuantBridgeException.class, () -> QuantParams.fromLayerMaps(Framework.TORCH, List.of(bad)));
        assertTrue(e2.getMessage().startsWith("Python parameters: layers[0].weight.scale is a java.lang.Object"),
                e2.getMessage());
    }

    @Test
    void rejectsOtherFilesAndVersions(@TempDir Path dir) throws Exception {
        String text = Files.readString(PY, StandardCharsets.UTF_8);
        Path other = Files.writeString(dir.resolve("other.json"), text.replace("quantbridge-quant-params", "onnx-stuff"));
        assertEquals(other + " is not a QuantBridge parameter file (format 'onnx-stuff'); expected format "
                + "'quantbridge-quant-params'", assertThrows(QuantBridgeException.class,
                        () -> ParamFile.read(other)).getMessage());
        Path v3 = Files.writeString(dir.resolve("v3.json"), text.replace("\"version\": 1", "\"version\": 3"));
        assertEquals(v3 + ": parameter file version 3 is not supported; expected one of [1, 2]",
                assertThrows(QuantBridgeException.class, () -> ParamFile.read(v3)).getMessage());
        Path noAxis = Files.writeString(dir.resolve("noaxis.json"), text.replaceFirst("\"axis\": 0,", ""));
        assertEquals(noAxis + ": layers[0] ('conv1').weight.axis is missing; expected an integer",
                assertThrows(QuantBridgeException.class, () -> ParamFile.read(noAxis)).getMessage());
        Path fw = Files.writeString(dir.resolve("fw.json"), text.replace("\"torch\"", "\"jax\""));
        assertTrue(assertThrows(QuantBridgeException.class, () -> ParamFile.read(fw)).getMessage()
                .contains("framework is 'jax'; expected 'torch' or 'tensorflow'"));
        assertTrue(assertThrows(QuantBridgeException.class, () -> ParamFile.read(dir.resolve("none.json")))
                .getMessage().contains("does not exist"));
        Path mark = Files.writeString(dir.resolve("mark.json"),
                text.replaceFirst("\"name\": \"conv1\",", "\"name\": \"conv1\", \"int32_bias\": \"yes\","));
        assertEquals(mark + ": layers[0] ('conv1').int32_bias is 'yes' (str); expected true or false",
                assertThrows(QuantBridgeException.class, () -> ParamFile.read(mark)).getMessage());
    }

    @Test
    void nodesAndWeightCopiesRoundTrip(@TempDir Path dir) throws Exception {
        // written by the shim (python-shim/tests/make_java_fixtures.py): a conv called three times
        Path shim = Fixtures.path("onnx/shared_conv_quant_param.json");
        QuantParams p = ParamFile.read(shim);
        LayerParams c = p.layer("c/Conv2D").orElseThrow();
        assertEquals(List.of("Conv_0", "Conv_2", "Conv_6"), c.nodes());
        assertEquals(c.nodes(), c.nodeNames());
        WeightParams copy = c.weight().copies().get(0);
        assertEquals("onnx::Conv_29", copy.tensor());
        assertEquals(c.weight().dtype(), copy.dtype());
        assertEquals(4, copy.scale().size());
        assertEquals(copy, c.weight().forTensor("onnx::Conv_29"));
        assertEquals(c.weight(), c.weight().forTensor(c.weight().tensor()));
        assertNull(c.weight().forTensor("nope"));
        assertStable(p);
        assertEquals(p, ParamFile.read(ParamFile.write(dir.resolve("again.json"), p)));
        // a file that names only "node" reads as before
        LayerParams conv1 = ParamFile.read(PY).layers().get(0);
        assertEquals(List.of(), conv1.nodes());
        assertEquals(List.of("/conv1/Conv"), conv1.nodeNames());
    }

    @Test
    void nodeMustBeTheFirstOfNodesAndCopiesMustDiffer(@TempDir Path dir) throws Exception {
        String text = Files.readString(Fixtures.path("onnx/shared_conv_quant_param.json"), StandardCharsets.UTF_8);
        Path swapped = Files.writeString(dir.resolve("swapped.json"),
                text.replaceFirst("\"node\": \"Conv_0\"", "\"node\": \"Conv_2\""));
        assertEquals(swapped + ": layers[0] ('c/Conv2D').nodes starts with 'Conv_0' but node is 'Conv_2'; expected "
                + "node to be the first of nodes", assertThrows(QuantBridgeException.class,
                        () -> ParamFile.read(swapped)).getMessage());
        Path twice = Files.writeString(dir.resolve("twice.json"),
                text.replaceFirst("\"tensor\": \"c.weight\"", "\"tensor\": \"onnx::Conv_26\""));
        assertTrue(assertThrows(QuantBridgeException.class, () -> ParamFile.read(twice)).getMessage()
                .contains(".weight.copies[1].tensor 'onnx::Conv_26' repeats a tensor of this weight"));
        assertThrows(IllegalArgumentException.class, () -> new LayerParams("l", "op", "float", "a",
                List.of("b", "a"), null, null));
    }

    /** Stands in for {@code jep.NDArray}: an object with a public {@code getData()}. */
    public static final class FakeNdArray {
        private final Object data;

        FakeNdArray(Object data) {
            this.data = data;
        }

        /** The primitive array. */
        public Object getData() {
            return data;
        }
    }

    /** Writing what was read from Java's own text gives the same text again. */
    private static void assertStable(QuantParams p) throws QuantBridgeException {
        String text = ParamFile.toJson(p);
        assertEquals(text, ParamFile.toJson(ParamFile.parse(text, "again")));
    }
}
