package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QDQ export of the tiny CNN, checked structurally and by running both models in ONNX Runtime. */
class QdqBuilderTest {
    private static ModelProto floatModel;
    private static QuantParams params;
    private static ModelProto qdq;

    @BeforeAll
    static void build() throws Exception {
        floatModel = TinyCnn.model(42, 13);
        params = TinyCnn.params(floatModel, TinyCnn.ranges(floatModel, 7, 512));
        qdq = QdqBuilder.build(floatModel, params);
    }

    @Test
    void int8ModelAgreesWithFloatModelInOnnxRuntime() throws Exception {
        List<Map<String, FloatTensor>> inputs = List.of(Map.of("x", TinyCnn.inputs(1234, 200)));
        OrtSessionRunner.Comparison c = OrtSessionRunner.compare(floatModel, qdq, inputs);
        assertEquals(200, c.rows());
        assertTrue(c.agreement() >= 0.95, "argmax agreement " + c.agreement() + ", expected >= 0.95");
        try (OrtSessionRunner ort = new OrtSessionRunner(floatModel)) {
            float[] logits = ort.run(inputs.get(0)).get("logits").data();
            double range = TinyCnn.minMax(logits)[1] - TinyCnn.minMax(logits)[0];
            assertTrue(c.maxAbsDiff() < 0.03 * range, "max abs diff " + c.maxAbsDiff() + " vs logit range " + range);
            assertTrue(c.meanAbsDiff() < 0.005 * range, "mean abs diff " + c.meanAbsDiff() + " vs logit range " + range);
        }
    }

    @Test
    void graphHasQdqNodesAndKeepsOpsetAndIr() {
        assertEquals(3, TinyCnn.count(qdq, "QuantizeLinear"));
        assertEquals(6, TinyCnn.count(qdq, "DequantizeLinear"));
        assertEquals(2, TinyCnn.count(qdq, "Conv"));
        assertEquals(1, TinyCnn.count(qdq, "Gemm"));
        assertEquals(1, TinyCnn.count(qdq, "Relu"));
        assertEquals(1, TinyCnn.count(qdq, "Flatten"));
        assertEquals(5 + 9, qdq.getGraph().getNodeCount());
        assertEquals(13, OnnxModels.opset(qdq).orElseThrow());
        assertEquals(floatModel.getIrVersion(), qdq.getIrVersion());
        assertEquals("QuantBridge", qdq.getProducerName());
        NodeProto conv1 = node(qdq, "/conv1/Conv");
        assertEquals("x_dequantized", conv1.getInput(0));
        assertEquals("conv1.weight_dequantized", conv1.getInput(1));
        assertEquals("conv1.bias", conv1.getInput(2));
        Map<String, String> meta = qdq.getMetadataPropsList().stream()
                .collect(java.util.stream.Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
        assertEquals("[\"conv1\",\"conv2\",\"fc\"]", meta.get(QdqBuilder.META_LAYERS));
        assertEquals("quantbridge-quant-params/2", meta.get(QdqBuilder.META_FORMAT));
    }

    @Test
    void nodesAreTopologicallyOrdered() {
        java.util.Set<String> known = new java.util.HashSet<>(List.of("x"));
        qdq.getGraph().getInitializerList().forEach(t -> known.add(t.getName()));
        for (NodeProto n : qdq.getGraph().getNodeList()) {
            for (String in : n.getInputList()) {
                assertTrue(known.contains(in), n.getName() + " reads " + in + " before it is produced");
            }
            known.addAll(n.getOutputList());
        }
    }

    @Test
    void weightsAreUint8ByDefaultPerChannelAndMatchFakeQuant() throws Exception {
        assertWeights(qdq, WeightType.UINT8);
    }

    @Test
    void weightsAreInt8WhenAskedPerChannelAndMatchFakeQuant() throws Exception {
        ModelProto signed = QdqBuilder.build(floatModel, params, WeightType.INT8);
        assertWeights(signed, WeightType.INT8);
        // the two files differ only in how the weight codes are stored
        assertEquals(qdq.getGraph().getNodeList(), signed.getGraph().getNodeList());
    }

    /** Codes on the int8 grid (uint8: plus 128, zero point 128) whose DequantizeLinear is the fake quant of the weights. */
    private void assertWeights(ModelProto model, WeightType type) {
        boolean unsigned = type == WeightType.UINT8;
        for (String w : List.of("conv1.weight", "conv2.weight", "fc.weight")) {
            assertFalse(model.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals(w)),
                    "float " + w + " should be gone");
            TensorProto q = TinyCnn.initializer(model, w + "_quantized");
            int dtype = unsigned ? TensorProto.DataType.UINT8_VALUE : TensorProto.DataType.INT8_VALUE;
            assertEquals(dtype, q.getDataType());
            int offset = unsigned ? 128 : 0;
            int[] codes = Tensors.bytesAsInts(q);
            for (int c : codes) {
                assertTrue(c - offset >= -127 && c - offset <= 127, "code " + c);
            }
            TensorProto scale = TinyCnn.initializer(model, w + "_scale");
            TensorProto zp = TinyCnn.initializer(model, w + "_zero_point");
            long channels = Tensors.dims(q)[0];
            assertArrayEquals(new long[] {channels}, Tensors.dims(scale));
            assertEquals(dtype, zp.getDataType());
            int[] zeros = new int[(int) channels];
            java.util.Arrays.fill(zeros, offset);
            assertArrayEquals(zeros, Tensors.bytesAsInts(zp));
            // DequantizeLinear of the codes is exactly the float32 fake quant of the float weights
            float[] wf = Tensors.floats(TinyCnn.initializer(floatModel, w));
            float[] s = Tensors.floats(scale);
            long[] dims = Tensors.dims(q);
            float[] expected = ReferenceQuant.fakeQuantWeights(wf, dims, s);
            int inner = codes.length / (int) channels;
            for (int i = 0; i < codes.length; i++) {
                assertEquals(expected[i], (codes[i] - offset) * s[i / inner], 0.0f, w + "[" + i + "]");
            }
            WeightParams wp = params.layer(w.substring(0, w.indexOf('.'))).orElseThrow().weight();
            assertArrayEquals(wp.scales(), s);
        }
        for (String b : List.of("conv1.bias", "conv2.bias", "fc.bias")) {
            assertEquals(TensorProto.DataType.FLOAT_VALUE, TinyCnn.initializer(model, b).getDataType());
        }
    }

    @Test
    void activationsAreUint8PerTensor() {
        for (int i = 0; i < TinyCnn.ACTIVATIONS.length; i++) {
            String a = TinyCnn.ACTIVATIONS[i];
            TensorProto zp = TinyCnn.initializer(qdq, a + "_zero_point");
            assertEquals(TensorProto.DataType.UINT8_VALUE, zp.getDataType());
            assertEquals(0, zp.getDimsCount());
            var ap = params.layers().get(i).activation();
            assertEquals(ap.zeroPoint(), Tensors.bytesAsInts(zp)[0]);
            assertEquals((float) ap.scale(), Tensors.floats(TinyCnn.initializer(qdq, a + "_scale"))[0]);
        }
    }

    @Test
    void inputModelIsNotChanged() {
        ModelProto again = TinyCnn.model(42, 13);
        assertEquals(again, floatModel);
    }

    @Test
    void floatLayersAreLeftAlone() throws Exception {
        var layers = new java.util.ArrayList<>(params.layers());
        var conv2 = layers.get(1);
        layers.set(1, new io.quantbridge.params.LayerParams(conv2.name(), conv2.opType(), "float", conv2.node(), null,
                null));
        ModelProto m = QdqBuilder.build(floatModel, new QuantParams(params.framework(), params.model(), layers));
        assertEquals(2, TinyCnn.count(m, "QuantizeLinear"));
        assertEquals(4, TinyCnn.count(m, "DequantizeLinear"));
        assertEquals("r1", node(m, "/conv2/Conv").getInput(0));
        assertEquals("conv2.weight", node(m, "/conv2/Conv").getInput(1));
        assertEquals(TensorProto.DataType.FLOAT_VALUE, TinyCnn.initializer(m, "conv2.weight").getDataType());
    }

    @Test
    void nodeIsFoundByWeightWhenNodeNameIsAbsent() throws Exception {
        var layers = params.layers().stream().map(l -> new io.quantbridge.params.LayerParams(l.name(), l.opType(),
                l.quantStrategy(), null, l.weight(), l.activation())).toList();
        ModelProto m = QdqBuilder.build(floatModel, new QuantParams(params.framework(), params.model(), layers));
        assertEquals(qdq.getGraph().getNodeList(), m.getGraph().getNodeList());
    }

    @Test
    void buildFromFileChecksTheHashAndSavesAtomically(@TempDir Path dir) throws Exception {
        Path f = OnnxModels.save(floatModel, dir.resolve("tiny.onnx"));
        QuantParams p = params.withModel("tiny.onnx", OnnxModels.sha256(f), null, List.of());
        ModelProto m = QdqBuilder.build(f, p);
        Path out = OnnxModels.save(m, dir.resolve("tiny_int8.onnx"));
        assertEquals(m, OnnxModels.load(out));
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.quantbridge.QuantBridgeException.class,
                () -> QdqBuilder.build(f, params.withModel("other.onnx", "00ff", null, List.of())));
        assertTrue(e.getMessage().contains("made for model 'other.onnx'"), e.getMessage());
    }

    @Test
    void oneScaleMeansPerTensorWeights() throws Exception {
        var layers = new java.util.ArrayList<>(params.layers());
        var fc = layers.get(2);
        float max = 0;
        for (float s : fc.weight().scales()) {
            max = Math.max(max, s);
        }
        layers.set(2, new io.quantbridge.params.LayerParams(fc.name(), fc.opType(), fc.quantStrategy(), fc.node(),
                WeightParams.symmetricInt8("fc.weight", 0, new float[] {max}), fc.activation()));
        ModelProto m = QdqBuilder.build(floatModel, new QuantParams(params.framework(), params.model(), layers));
        NodeProto dq = m.getGraph().getNodeList().stream().filter(n -> n.getOutput(0).equals("fc.weight_dequantized"))
                .findFirst().orElseThrow();
        assertEquals(0, dq.getAttributeCount(), "no axis for a per-tensor scale");
        assertEquals(0, TinyCnn.initializer(m, "fc.weight_scale").getDimsCount());
        OrtSessionRunner.Comparison c = OrtSessionRunner.compare(floatModel, m,
                List.of(Map.of("x", TinyCnn.inputs(99, 50))));
        assertTrue(c.agreement() >= 0.9, "agreement " + c.agreement());
    }

    static NodeProto node(ModelProto m, String name) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }
}
