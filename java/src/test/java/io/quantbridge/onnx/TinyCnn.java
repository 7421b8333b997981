package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;
import io.quantbridge.config.Strategies;
import io.quantbridge.params.ActivationParams;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.QuantParams;
import io.quantbridge.params.WeightParams;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The test model: x[N,1,8,8] -> Conv(1->4, 3x3, pad 1) -> Relu -> Conv(depthwise, group 4) ->
 * Flatten -> Gemm(transB=1, 256 -> 10), random weights from a fixed seed. {@code fc.weight} is
 * stored as float_data, the others as raw_data.
 */
final class TinyCnn {
    static final String[] ACTIVATIONS = {"x", "r1", "flat"};

    private TinyCnn() {
    }

    static ModelProto model(long seed, long opset) {
        Random r = new Random(seed);
        OnnxContext ctx = new OnnxContext();
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny_cnn");
        g.addInput(OnnxContext.tensorInfo("x", TensorProto.DataType.FLOAT, -1, 1, 8, 8));
        g.addOutput(OnnxContext.tensorInfo("logits", TensorProto.DataType.FLOAT, -1, 10));
        g.addInitializer(ctx.floatInitializer("conv1.weight", gauss(r, 36, 0.5f), 4, 1, 3, 3));
        g.addInitializer(ctx.floatInitializer("conv1.bias", gauss(r, 4, 0.1f), 4));
        g.addInitializer(ctx.floatInitializer("conv2.weight", gauss(r, 36, 0.5f), 4, 1, 3, 3));
        g.addInitializer(ctx.floatInitializer("conv2.bias", gauss(r, 4, 0.1f), 4));
        float[] fc = gauss(r, 2560, 0.1f);
        TensorProto.Builder fcw = TensorProto.newBuilder().setName(ctx.uniqueName("fc.weight"))
                .setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(10).addDims(256);
        for (float f : fc) {
            fcw.addFloatData(f);
        }
        g.addInitializer(fcw);
        g.addInitializer(ctx.floatInitializer("fc.bias", gauss(r, 10, 0.1f), 10));
        ctx.uniqueName("x");
        g.addNode(ctx.node("Conv", "/conv1/Conv", List.of("x", "conv1.weight", "conv1.bias"), List.of("c1"),
                OnnxContext.intsAttribute("kernel_shape", 3, 3), OnnxContext.intsAttribute("pads", 1, 1, 1, 1)));
        g.addNode(ctx.node("Relu", "/relu/Relu", List.of("c1"), List.of("r1")));
        g.addNode(ctx.node("Conv", "/conv2/Conv", List.of("r1", "conv2.weight", "conv2.bias"), List.of("c2"),
                OnnxContext.intsAttribute("kernel_shape", 3, 3), OnnxContext.intsAttribute("pads", 1, 1, 1, 1),
                OnnxContext.intAttribute("group", 4)));
        g.addNode(ctx.node("Flatten", "/Flatten", List.of("c2"), List.of("flat"), OnnxContext.intAttribute("axis", 1)));
        g.addNode(ctx.node("Gemm", "/fc/Gemm", List.of("flat", "fc.weight", "fc.bias"), List.of("logits"),
                OnnxContext.intAttribute("transB", 1)));
        return OnnxContext.model(g.build(), opset);
    }

    static float[] gauss(Random r, int n, float std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) r.nextGaussian() * std;
        }
        return out;
    }

    static FloatTensor inputs(long seed, int n) {
        return new FloatTensor(gauss(new Random(seed), n * 64, 1.0f), new long[] {n, 1, 8, 8});
    }

    /** The model with intermediate tensors added as outputs, to measure activation ranges. */
    static ModelProto probe(ModelProto model, String... tensors) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        for (String t : tensors) {
            g.addOutput(OnnxContext.tensorInfo(t, TensorProto.DataType.FLOAT));
        }
        return model.toBuilder().setGraph(g).build();
    }

    /** {min, max} of every activation over {@code n} random inputs, measured in ONNX Runtime. */
    static double[][] ranges(ModelProto model, long seed, int n) throws QuantBridgeException {
        FloatTensor x = inputs(seed, n);
        try (OrtSessionRunner ort = new OrtSessionRunner(probe(model, "r1", "flat"))) {
            Map<String, FloatTensor> out = ort.run(Map.of("x", x));
            return new double[][] {minMax(x.data()), minMax(out.get("r1").data()), minMax(out.get("flat").data())};
        }
    }

    static double[] minMax(float[] v) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (float f : v) {
            lo = Math.min(lo, f);
            hi = Math.max(hi, f);
        }
        return new double[] {lo, hi};
    }

    /** Parameters for all three layers, from the weights and measured activation ranges. */
    static QuantParams params(ModelProto model, double[][] ranges) {
        String[][] layers = {{"conv1", "/conv1/Conv", "conv1.weight", Strategies.TORCH_CONV2D},
                             {"conv2", "/conv2/Conv", "conv2.weight", Strategies.TORCH_CONV2D},
                             {"fc", "/fc/Gemm", "fc.weight", Strategies.TORCH_LINEAR}};
        List<LayerParams> out = new ArrayList<>();
        for (int i = 0; i < layers.length; i++) {
            TensorProto w = initializer(model, layers[i][2]);
            long[] dims = Tensors.dims(w);
            float[] scales = ReferenceQuant.weightScales(Tensors.floats(w), dims);
            out.add(new LayerParams(layers[i][0], layers[i][3], Strategies.INT8, layers[i][1],
                    WeightParams.symmetricInt8(layers[i][2], 0, scales),
                    ReferenceQuant.activation(ACTIVATIONS[i], ranges[i][0], ranges[i][1])));
        }
        return new QuantParams(Framework.TORCH, null, out)
                .withModel("tiny.onnx", OnnxModels.sha256(model.toByteArray()), InputShape.of("x", 1, 1, 8, 8),
                        List.of("logits"));
    }

    static TensorProto initializer(ModelProto model, String name) {
        return model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no initializer " + name));
    }

    static long count(ModelProto model, String opType) {
        return model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).count();
    }
}
