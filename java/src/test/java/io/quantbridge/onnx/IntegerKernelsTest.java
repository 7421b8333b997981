package io.quantbridge.onnx;

import io.quantbridge.json.Json;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.config.Fixtures;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.PointParams;
import io.quantbridge.params.QuantParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The INT8 model of a ResNet/MobileNet-like net (parameter file version 2, written by
 * {@code python-shim/tests/make_java_fixtures.py residual_cnn}) is what ONNX Runtime fuses into
 * integer kernels: read back from ONNX Runtime's optimized graph, every conv is a
 * {@code QLinearConv}, every residual add a {@code QLinearAdd}, the global average pooling a
 * {@code QLinearGlobalAveragePool}, both Linears {@code QGemm} (the last one, whose output is the
 * model's, with a float output); no float conv, pooling or Gemm is left. The model reproduces
 * the fake-quant model's outputs (relative error below 1e-6), since the fake-quant model computes
 * in eval mode what these kernels compute.
 */
class IntegerKernelsTest {
    private static QuantParams params;
    private static ModelProto qdq;
    private static Map<String, Integer> counts;

    @BeforeAll
    static void build() throws Exception {
        params = ParamFile.read(Fixtures.path("onnx/residual_cnn_quant_param.json"));
        qdq = QdqBuilder.build(Fixtures.path("onnx/residual_cnn.onnx"), params);
        counts = OrtOptimized.opCounts(OrtOptimized.optimize(qdq));
    }

    @Test
    void onnxRuntimeRunsEveryConvAndAddInInteger() {
        assertEquals(8, counts.getOrDefault("QLinearConv", 0), "QLinearConv in " + counts);
        assertEquals(3, counts.getOrDefault("QLinearAdd", 0), "QLinearAdd in " + counts);
        assertEquals(1, counts.getOrDefault("QLinearGlobalAveragePool", 0), "QLinearGlobalAveragePool in " + counts);
        assertEquals(2, counts.getOrDefault("QGemm", 0), "QGemm (the hidden Linear, and the last with a float output) in "
                + counts);
        assertEquals(0, counts.getOrDefault("Conv", 0) + counts.getOrDefault("FusedConv", 0), "float convs in " + counts);
        assertEquals(0, counts.getOrDefault("GlobalAveragePool", 0) + counts.getOrDefault("Gemm", 0)
                + counts.getOrDefault("FusedGemm", 0), "float pooling or Gemm in " + counts);
        assertEquals(14, OrtOptimized.integerKernels(counts), counts.toString());
    }

    @Test
    void int8WeightsRunTheSameIntegerKernels() throws Exception {
        // the weight type changes the kernel family ONNX Runtime picks (u8*s8 instead of u8*u8), not the graph
        Map<String, Integer> signed = OrtOptimized.opCounts(OrtOptimized.optimize(
                QdqBuilder.build(Fixtures.path("onnx/residual_cnn.onnx"), params, WeightType.INT8)));
        assertEquals(counts, signed);
    }

    @Test
    void theParameterFileCarriesThePoints() throws Exception {
        assertEquals(2, ParamFileVersion.of(params));
        List<PointParams> points = params.points();
        assertTrue(points.size() >= 10, points.toString());
        PointParams mirror = points.stream().filter(p -> p.mirrorOf() != null).findFirst().orElseThrow();
        PointParams canonical = points.stream().filter(p -> p.name().equals(mirror.mirrorOf())).findFirst().orElseThrow();
        assertEquals(canonical.quant().scale(), mirror.quant().scale(), "a mirror repeats its point's parameters");
        for (PointParams p : points) {
            if (p.owner() != null) {
                assertEquals(params.layer(p.owner()).orElseThrow().activation().scale(), p.quant().scale(),
                        p.name() + " is its owner's input quantizer");
            }
        }
    }

    @Test
    void biasesAreInt32WithScaleInputTimesWeight() {
        long int32 = qdq.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.INT32_VALUE && t.getName().endsWith("_quantized"))
                .count();
        assertEquals(10, int32, "the biases of the 8 convs (from their folded BatchNorms), fc1 and fc2 (a QGemm with a float output)");
    }

    @Test
    void int32BiasesFollowTheFileMarks() throws Exception {
        List<String> marked = params.layers().stream().filter(LayerParams::int32Bias).map(LayerParams::name).toList();
        assertEquals(10, marked.size(), "layers marked int32_bias (the 8 convs, fc1, fc2): " + marked);
        assertTrue(marked.contains("fc2/MatMul"), marked.toString());
        // the same file without the marks (an older version-2 file): int32 biases only where the
        // output is a point, so the last Gemm (the model output) keeps its float bias and runs in
        // float, and so does fc1, whose point merged into the input quantizer of fc2, the layer that
        // alone reads the functional ReLU after it (the export leaves such a point out)
        List<LayerParams> unmarked = params.layers().stream()
                .map(l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(), l.nodes(), l.weight(),
                        l.activation()))
                .toList();
        ModelProto plain = QdqBuilder.build(Fixtures.path("onnx/residual_cnn.onnx"),
                new QuantParams(params.framework(), params.model(), unmarked, params.points()));
        long int32 = plain.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.INT32_VALUE && t.getName().endsWith("_quantized"))
                .count();
        assertEquals(8, int32, "int32 biases without the marks");
        Map<String, Integer> c = OrtOptimized.opCounts(OrtOptimized.optimize(plain));
        assertEquals(0, c.getOrDefault("QGemm", 0), "QGemm in " + c);
        assertEquals(2, c.getOrDefault("Gemm", 0) + c.getOrDefault("FusedGemm", 0), "fc1 and fc2 in float in " + c);
        assertEquals(8, c.getOrDefault("QLinearConv", 0), "QLinearConv in " + c);
        // and the marks survive a write and a read of the file
        assertEquals(params, ParamFile.parse(ParamFile.toJson(params), "round trip"));
    }

    @Test
    void int8ModelAgreesWithTheFakeQuantModel() throws Exception {
        JsonNode io = Json.parse(Files.readString(Fixtures.path("onnx/residual_cnn_io.json"), StandardCharsets.UTF_8));
        FloatTensor x = tensor(io.get("x"));
        FloatTensor expected = tensor(io.get("output"));
        try (OrtSessionRunner ort = new OrtSessionRunner(qdq)) {
            FloatTensor got = ort.run(Map.of("x", x)).get(ort.outputNames().get(0));
            OrtSessionRunner.Comparison c = OrtSessionRunner.compare(List.of(got), List.of(expected));
            // the fake-quant model follows the integer kernels (folded BatchNorm, int32 bias,
            // requantization, merged ReLU/QDQ pairs, the integer pooling, the float-output QGemm):
            // the same numbers (bit for bit on x86, with the default uint8 weights on every CPU; one
            // output step anywhere would show as ~1e-3; int8 weights on a CPU without VNNI showed 0.017)
            assertEquals(1.0, c.agreement(), "agreement " + c);
            assertTrue(c.relativeError() < 1e-6, "relative output error " + c);
        }
    }

    private static FloatTensor tensor(JsonNode t) {
        int[] shape = new int[t.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.get("shape").get(i).asInt();
        }
        float[] data = new float[t.get("data").size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) t.get("data").get(i).asDouble();
        }
        return FloatTensor.of(data, shape);
    }

    /** The version a parameter file is written with. */
    private static final class ParamFileVersion {
        static int of(QuantParams p) throws Exception {
            return Json.parse(ParamFile.toJson(p)).get("version").asInt();
        }
    }
}
