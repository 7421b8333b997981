package io.quantbridge.onnx;

import io.quantbridge.json.Json;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.config.Fixtures;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A PyTorch conv called three times (twice followed by its own BatchNorm, which torch's exporter
 * folds into a copy of the weight per call, once plain) and a 1x1 conv, exported by the shim
 * ({@code python-shim/tests/make_java_fixtures.py}): the QDQ model quantizes every call with the
 * layer's one activation quantizer and reproduces the fake-quant model within 1e-5; and a conv
 * called twice whose nodes read one weight initializer ({@code shared_head}).
 */
class QdqSharedModuleTest {
    private static Path onnx;
    private static QuantParams params;
    private static ModelProto qdq;

    @BeforeAll
    static void build() throws Exception {
        onnx = Fixtures.path("onnx/shared_conv.onnx");
        params = ParamFile.read(Fixtures.path("onnx/shared_conv_quant_param.json"));
        qdq = QdqBuilder.build(onnx, params);
    }

    @Test
    void theParameterFileListsEveryCallAndTheWeightCopies() {
        LayerParams c = params.layer("c/Conv2D").orElseThrow();
        assertEquals(List.of("Conv_0", "Conv_2", "Conv_6"), c.nodes());
        assertEquals("Conv_0", c.node());
        assertEquals(List.of("onnx::Conv_29", "c.weight"), c.weight().copies().stream().map(w -> w.tensor()).toList());
        assertEquals(List.of("Conv_7"), params.layer("head/Conv2D").orElseThrow().nodeNames());
    }

    @Test
    void everyCallIsQuantized() {
        Map<String, String> producer = new java.util.HashMap<>();
        for (NodeProto n : qdq.getGraph().getNodeList()) {
            n.getOutputList().forEach(o -> producer.put(o, n.getOpType()));
        }
        List<NodeProto> convs = qdq.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).toList();
        assertEquals(4, convs.size());
        Set<String> dataInputs = new HashSet<>();
        Set<String> weightInputs = new HashSet<>();
        for (NodeProto conv : convs) {
            assertEquals("DequantizeLinear", producer.get(conv.getInput(0)), conv.getName() + " data input");
            assertEquals("DequantizeLinear", producer.get(conv.getInput(1)), conv.getName() + " weight input");
            dataInputs.add(conv.getInput(0));
            weightInputs.add(conv.getInput(1));
        }
        assertEquals(4, dataInputs.size(), "each call reads another tensor: its own Q/DQ pair");
        assertEquals(4, weightInputs.size(), "one weight DequantizeLinear per node");
        assertEquals(4, TinyCnn.count(qdq, "QuantizeLinear"));
        long codes = qdq.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.UINT8_VALUE
                        && t.getName().endsWith("_quantized")).count();
        assertEquals(4, codes, "three weight copies of c (one per initializer) and the head's");
        Set<String> left = new HashSet<>();
        qdq.getGraph().getInitializerList().forEach(t -> left.add(t.getName()));
        for (String w : List.of("onnx::Conv_26", "onnx::Conv_29", "c.weight", "head.weight")) {
            assertTrue(!left.contains(w) && left.contains(w + "_quantized"), w + " replaced by its int8 copy");
        }
    }

    @Test
    void int8ModelReproducesTheFakeQuantModel() throws Exception {
        assertReproduces(qdq, "shared_conv");
    }

    @Test
    void callsReadingOneWeightShareItsInt8CopyWithOneDequantizePerNode() throws Exception {
        // a conv called twice on different tensors, both nodes reading the initializer c.weight
        QuantParams p = ParamFile.read(Fixtures.path("onnx/shared_head_quant_param.json"));
        LayerParams c = p.layer("c/Conv2D").orElseThrow();
        assertEquals(2, c.nodes().size());
        assertTrue(c.weight().copies().isEmpty());
        ModelProto m = QdqBuilder.build(Fixtures.path("onnx/shared_head.onnx"), p);
        List<NodeProto> convs = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).toList();
        assertEquals(2, convs.size());
        assertTrue(!convs.get(0).getInput(1).equals(convs.get(1).getInput(1)), "a DequantizeLinear per node");
        assertEquals(1, m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("c.weight_quantized"))
                .count());
        assertEquals(2, m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear")
                && n.getInput(0).equals("c.weight_quantized")).count(), "both read the one int8 weight");
        assertEquals(3, TinyCnn.count(m, "QuantizeLinear"), "x, the second call's input and the Linear's input");
        // ONNX Runtime 1.15 computes the second Conv wrongly if the two share one DequantizeLinear output
        assertReproduces(m, "shared_head");
    }

    private static void assertReproduces(ModelProto model, String fixture) throws Exception {
        JsonNode io = Json.parse(Files.readString(Fixtures.path("onnx/" + fixture + "_io.json"),
                StandardCharsets.UTF_8));
        FloatTensor x = tensor(io.get("x"));
        FloatTensor expected = tensor(io.get("output"));
        try (OrtSessionRunner ort = new OrtSessionRunner(model)) {
            FloatTensor got = ort.run(Map.of("x", x)).get(ort.outputNames().get(0));
            assertEquals(expected.data().length, got.data().length);
            double max = 0;
            for (int i = 0; i < got.data().length; i++) {
                max = Math.max(max, Math.abs(got.data()[i] - expected.data()[i]));
            }
            assertTrue(max < 1e-5, "max |int8 ONNX - fake quant| = " + max);
        }
    }

    private static FloatTensor tensor(JsonNode t) {
        long[] shape = new long[t.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.get("shape").get(i).longValue();
        }
        float[] data = new float[t.get("data").size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) t.get("data").get(i).doubleValue();
        }
        return new FloatTensor(data, shape);
    }
}
