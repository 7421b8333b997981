package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** QdqBuilder refuses what it cannot export, with messages naming layer, tensor and shapes. */
class QdqBuilderErrorsTest {
    private static ModelProto model;
    private static QuantParams params;

    @BeforeAll
    static void setUp() {
        model = TinyCnn.model(42, 13);
        params = TinyCnn.params(model, new double[][] {{-3, 3}, {0, 4}, {-2, 5}});
    }

    private static QuantParams withLayer(int i, UnaryOperator<LayerParams> change) {
        List<LayerParams> layers = new ArrayList<>(params.layers());
        layers.set(i, change.apply(layers.get(i)));
        return new QuantParams(params.framework(), params.model(), layers);
    }

    private static String fail(ModelProto m, QuantParams p) {
        return assertThrows(QuantBridgeException.class, () -> QdqBuilder.build(m, p)).getMessage();
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "expected <" + part + "> in: " + message);
        }
    }

    @Test
    void missingNodeAndWeight() {
        String msg = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), "/nope/Conv",
                WeightParams.symmetricInt8("nope.weight", 0, l.weight().scales()), l.activation())));
        assertContains(msg, "layer 'conv1'", "no node named '/nope/Conv'", "no node reads its weight 'nope.weight'",
                "'/conv1/Conv'");
    }

    @Test
    void missingOneOfSeveralNodes() {
        String msg = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                List.of(l.node(), "/conv1/Conv_again"), l.weight(), l.activation())));
        assertContains(msg, "layer 'conv1'", "no node named ['/conv1/Conv_again']",
                "of the layer's nodes ['/conv1/Conv', '/conv1/Conv_again']");
        String taken = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                List.of(l.node(), "/conv2/Conv"), l.weight(), l.activation())));
        assertContains(taken, "both map to node '/conv2/Conv'");
    }

    @Test
    void opsetBelow13() {
        String msg = fail(TinyCnn.model(42, 11), params);
        assertContains(msg, "opset 11", "opset >= 13", "opset_version=13");
    }

    @Test
    void noDefaultOpset() {
        ModelProto m = model.toBuilder().clearOpsetImport().build();
        assertContains(fail(m, params), "imports no opset", ">= 13");
    }

    @Test
    void channelCountMismatch() {
        String msg = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                WeightParams.symmetricInt8("conv1.weight", 0, new float[] {0.1f, 0.1f, 0.1f}), l.activation())));
        assertContains(msg, "layer 'conv1'", "'conv1.weight' has shape [4, 1, 3, 3]", "4 channels along axis 0",
                "3 scales", "one scale per channel");
    }

    @Test
    void axisOutOfRange() {
        String msg = fail(model, withLayer(2, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                WeightParams.symmetricInt8("fc.weight", 2, l.weight().scales()), l.activation())));
        assertContains(msg, "layer 'fc'", "weight.axis 2", "[10, 256]");
    }

    @Test
    void weightThatIsNotAnInitializer() {
        GraphProto.Builder g = model.getGraph().toBuilder();
        List<NodeProto> nodes = new ArrayList<>(g.getNodeList());
        NodeProto conv2 = nodes.get(2).toBuilder().setInput(1, "w_computed").build();
        nodes.set(2, conv2);
        nodes.add(2, NodeProto.newBuilder().setOpType("Identity").setName("/w/Identity").addInput("conv2.weight")
                .addOutput("w_computed").build());
        ModelProto m = model.toBuilder().setGraph(g.clearNode().addAllNode(nodes)).build();
        String msg = fail(m, params);
        assertContains(msg, "layer 'conv2'", "weight 'w_computed' of node '/conv2/Conv' is not an initializer",
                "(the parameters name 'conv2.weight')");
    }

    @Test
    void quantizedLayerWithoutActivation() {
        String msg = fail(model, withLayer(1, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                l.weight(), null)));
        assertContains(msg, "layer 'conv2'", "no activation parameters");
    }

    @Test
    void unsupportedStrategy() {
        String msg = fail(model, withLayer(1, l -> new LayerParams(l.name(), l.opType(), "Quant_INT4-4", l.node(),
                l.weight(), l.activation())));
        assertContains(msg, "layer 'conv2'", "'Quant_INT4-4'", "expected 'float' or 'Quant_INT8-8'");
    }

    @Test
    void zeroPointOutOfRange() {
        String msg = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                l.weight(), ActivationParams.uint8("x", 0.02, 300, -3, 3))));
        assertContains(msg, "layer 'conv1'", "zero_point 300", "0..255");
    }

    @Test
    void nonPositiveScale() {
        String msg = fail(model, withLayer(0, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), l.node(),
                l.weight(), ActivationParams.uint8("x", 0.0, 0, 0, 0))));
        assertContains(msg, "layer 'conv1'", "activation scale is 0.0", "positive");
    }

    @Test
    void twoLayersOnOneNode() {
        String msg = fail(model, withLayer(1, l -> new LayerParams(l.name(), l.opType(), l.quantStrategy(), "/conv1/Conv",
                params.layers().get(0).weight(), params.layers().get(0).activation())));
        assertContains(msg, "'conv1' and 'conv2' both map to node '/conv1/Conv'");
    }
}
