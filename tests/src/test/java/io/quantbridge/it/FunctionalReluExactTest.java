package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.TORCH_PROJECT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.config.QuantConfig;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtOptimized;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jep.NDArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The INT8 ONNX of the example project's model (tests/projects/torch_project: conv + BN + functional
 * {@code torch.relu} into the next conv, a functional ReLU then a MaxPool and Flatten into a Linear,
 * a Linear + functional ReLU into the last Linear) computes what the fake-quant model computes, bit
 * for bit, with every layer an integer kernel.
 *
 * <p>A quantization point before a functional ReLU whose output only the next quantized layer reads
 * merges into that layer's input quantizer: the fake-quant model quantizes once. The export used to
 * keep the point's own quantize/dequantize pair, which ONNX Runtime then merged onto a grid of its
 * own (the intersection of both ranges), and it merged through a MaxPool where ONNX Runtime keeps
 * both quantizations: 0.6 % relative output error on this model, one step off at the second conv's
 * input.
 */
class FunctionalReluExactTest {
    @TempDir
    Path dir;

    @Test
    void int8OnnxIsTheFakeQuantModelBitForBit() throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            rt.addPythonPath(TORCH_PROJECT);
            TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of("digitsnet.model:build_model"));
            try (PyHandle model = q.newFloatModel()) {
                rt.call("digitsnet.train:train", List.of(model), Map.of("epochs", 3), null);
                QuantConfig cfg = q.generateConfig(model, "x:1,1,8,8");
                assertEquals(4, cfg.quantizeAll("Quant_INT8-8"));
                try (QuantModel qm = q.optimize(model, cfg)) {
                    assertEquals(8, qm.calibrate("digitsnet.data:calibration_batches", Map.of(), 0, null));
                    TorchExport files = q.export(qm, dir, "digitsnet", false, null);
                    QuantParams params = ParamFile.read(files.paramFile());
                    assertEquals(4, params.layers().stream().filter(LayerParams::int32Bias).count(),
                            "layers computed with an int32 bias: " + params.layers());

                    List<?> batches = (List<?>) rt.call("quantbridge._deployed:labelled_batches",
                            rt.call("digitsnet.data:calibration_batches"), List.of("x"), "calibration_batches");
                    try (OrtSessionRunner ort = new OrtSessionRunner(files.int8Onnx())) {
                        for (Object item : batches) {
                            @SuppressWarnings("unchecked")
                            NDArray<float[]> x = ((List<NDArray<float[]>>) ((List<?>) item).get(0)).get(0);
                            FloatTensor xs = FloatTensor.of(x.getData(), x.getDimensions());
                            NDArray<?> fq = (NDArray<?>) rt.call("quantbridge.torch:fake_quant_predict", qm.handle(), x);
                            FloatTensor expected = FloatTensor.of((float[]) fq.getData(), fq.getDimensions());
                            FloatTensor got = ort.run(xs.data(), xs.shape());
                            OrtSessionRunner.Comparison c = OrtSessionRunner.compare(List.of(got), List.of(expected));
                            assertEquals(1.0, c.agreement(), "agreement " + c);
                            assertEquals(0.0, c.maxAbsDiff(), "max |dlogit| " + c);
                        }
                    }
                    Map<String, Integer> ops = OrtOptimized.opCounts(OrtOptimized.optimize(OnnxModels.load(files.int8Onnx())));
                    System.out.println("quantbridge torch_project INT8 ONNX after ORT optimization: " + ops);
                    assertEquals(2, ops.getOrDefault("QLinearConv", 0), "QLinearConv in " + ops);
                    assertEquals(2, ops.getOrDefault("QGemm", 0), "QGemm in " + ops);
                    assertTrue(ops.getOrDefault("Conv", 0) + ops.getOrDefault("FusedConv", 0)
                            + ops.getOrDefault("Gemm", 0) + ops.getOrDefault("FusedGemm", 0) == 0, "float layers in " + ops);
                }
            }
        }
    }
}
