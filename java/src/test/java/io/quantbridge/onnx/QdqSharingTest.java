package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.config.Framework;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two quantized convs read the same tensor: one Q/DQ pair when their activation parameters agree,
 * two when they differ; a float weight still read by a float node is kept.
 */
class QdqSharingTest {
    /** x -> a = Conv(x, W), b = Conv(x, W2), c = Conv(x, W) (stays float); y = a + b + c. */
    static ModelProto branchModel() {
        Random r = new Random(5);
        OnnxContext ctx = new OnnxContext();
        ctx.uniqueName("x");
        GraphProto.Builder g = GraphProto.newBuilder().setName("branches");
        g.addInput(OnnxContext.tensorInfo("x", TensorProto.DataType.FLOAT, 1, 2, 4, 4));
        g.addOutput(OnnxContext.tensorInfo("y", TensorProto.DataType.FLOAT, 1, 3, 4, 4));
        g.addInitializer(ctx.floatInitializer("W", TinyCnn.gauss(r, 6, 1f), 3, 2, 1, 1));
        g.addInitializer(ctx.floatInitializer("W2", TinyCnn.gauss(r, 6, 1f), 3, 2, 1, 1));
        g.addNode(ctx.node("Conv", "/a", List.of("x", "W"), List.of("a")));
        g.addNode(ctx.node("Conv", "/b", List.of("x", "W2"), List.of("b")));
        g.addNode(ctx.node("Conv", "/c", List.of("x", "W"), List.of("c")));
        g.addNode(ctx.node("Add", "/add1", List.of("a", "b"), List.of("ab")));
        g.addNode(ctx.node("Add", "/add2", List.of("ab", "c"), List.of("y")));
        return OnnxContext.model(g.build(), 17);
    }

    static QuantParams params(ActivationParams forB) {
        float[] s = {0.01f, 0.02f, 0.03f};
        ActivationParams act = ReferenceQuant.activation("x", -3, 3);
        return new QuantParams(Framework.TORCH, null, List.of(
                new LayerParams("b", "Conv2D", "Quant_INT8-8", "/b", WeightParams.symmetricInt8("W2", 0, s),
                        forB == null ? act : forB),
                new LayerParams("a", "Conv2D", "Quant_INT8-8", "/a", WeightParams.symmetricInt8("W", 0, s), act),
                new LayerParams("c", "Conv2D", "float", "/c", null, null)));
    }

    @Test
    void identicalParametersShareOnePair() throws Exception {
        ModelProto m = QdqBuilder.build(branchModel(), params(null));
        assertEquals(1, TinyCnn.count(m, "QuantizeLinear"));
        assertEquals(3, TinyCnn.count(m, "DequantizeLinear"));
        assertEquals(QdqBuilderTest.node(m, "/a").getInput(0), QdqBuilderTest.node(m, "/b").getInput(0));
        assertEquals("x", QdqBuilderTest.node(m, "/c").getInput(0));
        assertEquals("W", QdqBuilderTest.node(m, "/c").getInput(1));
        assertEquals(TensorProto.DataType.FLOAT_VALUE, TinyCnn.initializer(m, "W").getDataType());
        assertTrue(m.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals("W2")), "W2 unused");
        // the shared pair sits before its first consumer (/a, index 0) although layer b came first
        assertEquals("QuantizeLinear", m.getGraph().getNode(0).getOpType());
        runs(m);
    }

    @Test
    void differentParametersGetTheirOwnPair() throws Exception {
        ModelProto m = QdqBuilder.build(branchModel(), params(ReferenceQuant.activation("x", -1, 1)));
        assertEquals(2, TinyCnn.count(m, "QuantizeLinear"));
        assertEquals(4, TinyCnn.count(m, "DequantizeLinear"));
        assertTrue(!QdqBuilderTest.node(m, "/a").getInput(0).equals(QdqBuilderTest.node(m, "/b").getInput(0)));
        runs(m);
    }

    private static void runs(ModelProto m) throws Exception {
        try (OrtSessionRunner ort = new OrtSessionRunner(m)) {
            FloatTensor y = ort.run(Map.of("x", new FloatTensor(TinyCnn.gauss(new Random(1), 32, 1f),
                    new long[] {1, 2, 4, 4}))).get("y");
            assertEquals(48, y.data().length);
        }
    }
}
