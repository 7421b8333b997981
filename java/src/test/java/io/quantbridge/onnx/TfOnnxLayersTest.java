package io.quantbridge.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ModelInfo;
import io.quantbridge.params.PointParams;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A TensorFlow parameter file read against an ONNX graph shaped as tf2onnx makes it (NHWC input
 * transposed, Conv renamed after its fused BiasAdd, weights as {@code <const>:0} in ONNX layout).
 */
class TfOnnxLayersTest {
    private static final String CONV_W = "conv1/Conv2D/quantbridge/weight";
    private static final String FC_W = "fc/MatMul/quantbridge/weight";

    /** images[N,8,8,1] -> Transpose -> Conv(1->4) "bn1/FusedBatchNormV3" -> Relu -> Flatten -> MatMul or Gemm -> logits. */
    static ModelProto model(boolean gemmTransB) {
        OnnxContext ctx = new OnnxContext();
        GraphProto.Builder g = GraphProto.newBuilder().setName("tf2onnx");
        g.addInput(OnnxContext.tensorInfo("images", TensorProto.DataType.FLOAT, -1, 8, 8, 1));
        g.addOutput(OnnxContext.tensorInfo("logits", TensorProto.DataType.FLOAT, -1, 10));
        g.addInitializer(ctx.floatInitializer(CONV_W + ":0", ramp(36, 0.01f), 4, 1, 3, 3));
        g.addInitializer(ctx.floatInitializer("bn1/folded_bias:0", ramp(4, 0.1f), 4));
        g.addInitializer(gemmTransB ? ctx.floatInitializer(FC_W + ":0", ramp(2560, 0.001f), 10, 256)
                : ctx.floatInitializer(FC_W + ":0", ramp(2560, 0.001f), 256, 10));
        g.addNode(ctx.node("Transpose", "bn1/FusedBatchNormV3__6", List.of("images"), List.of("t:0"),
                OnnxContext.intsAttribute("perm", 0, 3, 1, 2)));
        g.addNode(ctx.node("Conv", "bn1/FusedBatchNormV3", List.of("t:0", CONV_W + ":0", "bn1/folded_bias:0"),
                List.of("c:0"), OnnxContext.intsAttribute("kernel_shape", 3, 3), OnnxContext.intsAttribute("pads", 1, 1, 1, 1)));
        g.addNode(ctx.node("Relu", "Relu", List.of("c:0"), List.of("Relu:0")));
        g.addNode(ctx.node("Flatten", "Reshape", List.of("Relu:0"), List.of("Reshape:0"), OnnxContext.intAttribute("axis", 1)));
        if (gemmTransB) {
            g.addNode(ctx.node("Gemm", "fc/MatMul", List.of("Reshape:0", FC_W + ":0"), List.of("logits"),
                    OnnxContext.intAttribute("transB", 1)));
        } else {
            g.addNode(ctx.node("MatMul", "fc/MatMul", List.of("Reshape:0", FC_W + ":0"), List.of("logits")));
        }
        return OnnxContext.model(g.build(), 13);
    }

    private static float[] ramp(int n, float step) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (i % 17 - 8) * step;
        }
        return out;
    }

    private static List<Double> scales(int n, double s) {
        return Collections.nCopies(n, s);
    }

    /** The parameter file of the TF export: TF op names, TF axes (HWIO 3, MatMul 1). */
    static QuantParams tfParams(int convScales) {
        List<LayerParams> layers = new ArrayList<>();
        layers.add(new LayerParams("conv1/Conv2D", "Conv2D", "Quant_INT8-8", "conv1/Conv2D",
                new WeightParams(CONV_W, "int8", 8, true, 3, scales(convScales, 0.001), Collections.nCopies(convScales, 0)),
                ActivationParams.uint8("images:0", 0.02, 128, -2.56, 2.54)));
        layers.add(new LayerParams("fc/MatMul", "MatMul", "Quant_INT8-8", "fc/MatMul",
                new WeightParams(FC_W, "int8", 8, true, 1, scales(10, 0.0001), Collections.nCopies(10, 0)),
                ActivationParams.uint8("Reshape:0", 0.01, 0, 0, 2.55)));
        layers.add(new LayerParams("head/MatMul", "MatMul", "float", "head/MatMul", null, null));
        return new QuantParams(Framework.TENSORFLOW, new ModelInfo("model.pb", "ab", "images:1,8,8,1", List.of("logits")),
                layers);
    }

    @Test
    void layersMapOntoTheNodesReadingTheirWeightsWithOnnxAxes() throws Exception {
        QuantParams tf = tfParams(4);
        QuantParams onnx = TfOnnxLayers.forOnnx(model(false), tf, "model.onnx", "cd");
        LayerParams conv = onnx.layer("conv1/Conv2D").orElseThrow();
        assertEquals("bn1/FusedBatchNormV3", conv.node());
        assertEquals(CONV_W + ":0", conv.weight().tensor());
        assertEquals(0, conv.weight().axis(), "HWIO axis 3 is OIHW axis 0");
        assertEquals("t:0", conv.activation().tensor(), "the Conv's data input, after tf2onnx's Transpose");
        assertEquals(tf.layer("conv1/Conv2D").orElseThrow().weight().scale(), conv.weight().scale());
        assertEquals(0.02, conv.activation().scale());
        LayerParams fc = onnx.layer("fc/MatMul").orElseThrow();
        assertEquals(1, fc.weight().axis());
        assertEquals("Reshape:0", fc.activation().tensor());
        assertSame(tf.layer("head/MatMul").orElseThrow(), onnx.layer("head/MatMul").orElseThrow());
        assertEquals("model.onnx", onnx.model().file());
        assertEquals("cd", onnx.model().sha256());
        assertEquals(List.of("logits"), onnx.model().outputs());

        ModelProto qdq = QdqBuilder.build(model(false), onnx);
        long uint8 = qdq.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.UINT8_VALUE && t.getName().endsWith(":0_quantized")).count();
        assertEquals(2, uint8, "both weights as uint8 codes (the default weight type)");
        NodeProto convNode = qdq.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).findFirst()
                .orElseThrow();
        assertTrue(convNode.getInput(0).endsWith("_dequantized") && convNode.getInput(1).endsWith("_dequantized"),
                convNode.toString());
    }

    @Test
    void gemmWithTransBTakesAxisZero() throws Exception {
        QuantParams onnx = TfOnnxLayers.forOnnx(model(true), tfParams(4), "model.onnx", "cd");
        assertEquals(0, onnx.layer("fc/MatMul").orElseThrow().weight().axis());
    }

    @Test
    void aWeightNoNodeReadsIsNamedWithTheKernelsFound() {
        QuantParams tf = tfParams(4);
        List<LayerParams> layers = new ArrayList<>(tf.layers());
        LayerParams fc = layers.get(1);
        layers.set(1, new LayerParams(fc.name(), fc.opType(), fc.quantStrategy(), fc.node(),
                new WeightParams("other/weight", "int8", 8, true, 1, fc.weight().scale(), fc.weight().zeroPoint()),
                fc.activation()));
        String msg = assertThrows(QuantBridgeException.class, () -> TfOnnxLayers.forOnnx(model(false),
                new QuantParams(Framework.TENSORFLOW, tf.model(), layers), "m.onnx", "")).getMessage();
        assertTrue(msg.contains("layer 'fc/MatMul': no Conv/MatMul/Gemm node") && msg.contains("'other/weight:0'")
                && msg.contains("fc/MatMul <- " + FC_W + ":0"), msg);
    }

    @Test
    void scalesThatAreNotOnePerOutputChannelAreRefused() {
        String msg = assertThrows(QuantBridgeException.class,
                () -> TfOnnxLayers.forOnnx(model(false), tfParams(3), "m.onnx", "")).getMessage();
        assertTrue(msg.contains("layer 'conv1/Conv2D'") && msg.contains("[4, 1, 3, 3]") && msg.contains("3 scales"), msg);
    }

    @Test
    void torchParametersAreRefused() {
        QuantParams tf = tfParams(4);
        QuantParams torch = new QuantParams(Framework.TORCH, tf.model(), tf.layers());
        String msg = assertThrows(QuantBridgeException.class,
                () -> TfOnnxLayers.forOnnx(model(false), torch, "m.onnx", "")).getMessage();
        assertTrue(msg.contains("expected a TensorFlow parameter file"), msg);
    }

    /** The point the TF export writes for conv1 (its output requantized to fc's input). */
    private static QuantParams withPoint(QuantParams tf, String layer, String owner, ActivationParams quant) {
        return tf.withPoints(List.of(new PointParams(layer, layer + "/quantbridge/requantized:0", owner, null, quant)));
    }

    private static ActivationParams fcInput(QuantParams tf) {
        return tf.layer("fc/MatMul").orElseThrow().activation();
    }

    @Test
    void aPointGoesOnTheOutputOfItsLayersNodeAndItsBiasBecomesInt32() throws Exception {
        QuantParams tf = tfParams(4);
        QuantParams onnx = TfOnnxLayers.forOnnx(model(false), withPoint(tf, "conv1/Conv2D", "fc/MatMul", fcInput(tf)),
                "model.onnx", "cd");
        PointParams point = onnx.points().get(0);
        assertEquals("c:0", point.tensor(), "the Conv's output, found back from fc's input through Flatten and Relu");
        assertEquals("fc/MatMul", point.owner());
        assertEquals(fcInput(tf), point.quant());

        ModelProto qdq = QdqBuilder.build(model(false), onnx);
        NodeProto conv = qdq.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).findFirst()
                .orElseThrow();
        TensorProto bias = qdq.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("bn1/folded_bias:0_quantized")).findFirst().orElseThrow();
        assertEquals(TensorProto.DataType.INT32_VALUE, bias.getDataType());
        assertTrue(conv.getInput(2).endsWith("_dequantized"), conv.toString());
        assertTrue(qdq.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("QuantizeLinear")
                && n.getInput(0).equals("c:0")), "a QuantizeLinear on the Conv's output");
        assertFalse(qdq.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals("bn1/folded_bias:0")),
                "no float bias left");
        java.util.Map<String, Integer> ops = OrtOptimized.opCounts(OrtOptimized.optimize(qdq));
        assertEquals(1, ops.getOrDefault("QLinearConv", 0), "ONNX Runtime runs the conv in integer: " + ops);
        assertFalse(ops.containsKey("Conv"), ops.toString());
    }

    @Test
    void aPointWhoseParametersAreNotItsOwnersIsRefused() {
        QuantParams tf = tfParams(4);
        ActivationParams other = ActivationParams.uint8("Reshape:0", 0.03, 0, 0, 7.65);
        String msg = assertThrows(QuantBridgeException.class, () -> TfOnnxLayers.forOnnx(model(false),
                withPoint(tf, "conv1/Conv2D", "fc/MatMul", other), "m.onnx", "")).getMessage();
        assertTrue(msg.contains("point 'conv1/Conv2D'") && msg.contains("owner 'fc/MatMul'"), msg);
    }

    @Test
    void aPointOnAFloatLayerOrWithoutAChainToItsOwnerIsRefused() {
        QuantParams tf = tfParams(4);
        String floatLayer = assertThrows(QuantBridgeException.class, () -> TfOnnxLayers.forOnnx(model(false),
                withPoint(tf, "head/MatMul", "fc/MatMul", fcInput(tf)), "m.onnx", "")).getMessage();
        assertTrue(floatLayer.contains("'head/MatMul' is not a quantized layer"), floatLayer);
        // fc's input does not come from fc's own node: walking back from it never meets fc/MatMul
        String noChain = assertThrows(QuantBridgeException.class, () -> TfOnnxLayers.forOnnx(model(false),
                withPoint(tf, "fc/MatMul", "fc/MatMul", fcInput(tf)), "m.onnx", "")).getMessage();
        assertTrue(noChain.contains("no chain") && noChain.contains("['Flatten', 'Relu', 'Conv']"), noChain);
    }
}
