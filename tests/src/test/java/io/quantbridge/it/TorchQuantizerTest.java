package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.onnx.ModelSummary;
import io.quantbridge.onnx.OnnxInspector;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jep.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PyTorch workflow driven from Java on the digits example, with real torch 1.11, ONNX
 * Runtime (Java) and the shim: config, PTQ, QAT, export, INT8 QDQ ONNX, errors.
 */
class TorchQuantizerTest {
    private static final String EX = "quantbridge.examples.digits_torch";
    private static PythonRuntime rt;
    private static TorchQuantizer q;
    private static PyHandle trained;
    private static double floatAcc;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void trainFloat() throws Exception {
        rt = Runtimes.open();
        q = new TorchQuantizer(rt, TorchProject.of(EX + ":build_model"));
        trained = q.newFloatModel();
        rt.call(EX + ":train_float", List.of(trained), Map.of("epochs", 12), null);
        floatAcc = accuracy(trained);
        System.out.printf("quantbridge digits torch: float top-1 %.2f%%%n", floatAcc);
    }

    @AfterAll
    static void close() {
        trained.close();
        rt.close();
    }

    private static double accuracy(PyHandle model) throws QuantBridgeException {
        return ((Number) rt.call(EX + ":evaluate", model)).doubleValue();
    }

    private QuantConfig int8Config(String method) throws Exception {
        QuantConfig cfg = q.generateConfig(trained, "x:1,1,8,8");
        assertEquals(cfg.layers().size(), cfg.quantizeAll("Quant_INT8-8"));
        cfg.setCalibration(method, 99.99, 2048);
        return cfg;
    }

    private QuantModel optimizedCopy(QuantConfig cfg) throws Exception {
        PyHandle copy = (PyHandle) rt.call("quantbridge._java_support:deepcopy", trained);
        return q.optimize(copy, cfg);
    }

    @Test
    void configTemplateListsEveryLayerAndRoundTripsByteStable() throws Exception {
        QuantConfig cfg = q.generateConfig(trained, "x:1,1,8,8");
        List<String> names = cfg.layers().stream().map(l -> l.name()).toList();
        assertEquals(List.of("features/0/Conv2D", "features/3/Conv2D", "features/6/Conv2D", "fc/MatMul"), names);
        assertTrue(cfg.layers().stream().allMatch(l -> l.strategy().equals("float")));
        Path pyFile = tmp.resolve("py_config.json");
        rt.call("quantbridge.torch:generate_config_file", trained, "x:1,1,8,8", pyFile.toString());
        byte[] python = Files.readAllBytes(pyFile);
        assertEquals(new String(python, java.nio.charset.StandardCharsets.UTF_8), cfg.toJson(),
                "Java writes the template exactly as the shim does");
        Path javaFile = cfg.write(tmp.resolve("java_config.json"));
        assertArrayEquals(python, Files.readAllBytes(javaFile));
        QuantConfig back = QuantConfig.read(javaFile);
        assertEquals(cfg.toJson(), back.toJson());
    }

    @Test
    void ptqStaysWithinOnePointAndChangesNoWeights() throws Exception {
        for (String method : List.of("minmax", "percentile")) {
            try (QuantModel qm = optimizedCopy(int8Config(method))) {
                List<ProgressEvent> events = new ArrayList<>();
                long n = qm.calibrate(EX + ":calibration_batches", Map.of(), 0, events::add);
                assertEquals(8, n);
                assertEquals(8, events.stream().filter(e -> e.phase().equals("calibrate")).count());
                double acc = accuracy(qm.handle());
                System.out.printf("quantbridge digits torch: PTQ (%s) top-1 %.2f%%%n", method, acc);
                assertTrue(acc >= floatAcc - 1.0, method + " PTQ " + acc + " vs float " + floatAcc);
                QuantParams params = qm.params();
                for (LayerParams l : params.quantizedLayers()) {
                    assertTrue(l.activation().scale() > 0, l.name());
                    assertFalse(l.weight().scale().isEmpty(), l.name());
                }
            }
        }
        assertTrue(accuracy(trained) == floatAcc, "calibrating copies leaves the float model untouched");
    }

    @Test
    void qatWithinHalfPointExportsInt8OnnxThatAgreesWithFakeQuant() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("export_qat"));
        try (QuantModel ptq = optimizedCopy(int8Config("minmax"))) {
            ptq.calibrate(EX + ":calibration_batches", Map.of(), 0, null);
            try (QuantModel qat = ptq.copy()) {
                List<ProgressEvent> events = new ArrayList<>();
                qat.train(EX + ":train", Map.of("epochs", 2), events::add);
                assertTrue(events.stream().anyMatch(e -> e.phase().equals("train") && e.metrics().containsKey("loss")));
                double acc = accuracy(qat.handle());
                System.out.printf("quantbridge digits torch: QAT top-1 %.2f%%%n", acc);
                assertTrue(acc >= floatAcc - 0.5, "QAT " + acc + " vs float " + floatAcc);
                assertTrue(Double.isFinite(qat.quantLoss()));

                TorchExport files = q.export(qat, out, "digits", false, null);
                assertEquals(out.resolve("digits.onnx"), files.floatOnnx());
                try (Stream<Path> left = Files.list(out)) {
                    assertEquals(3, left.count(), "exactly the three files, no staging left behind");
                }
                ModelSummary floatSummary = OnnxInspector.summary(OnnxModels.load(files.floatOnnx()));
                assertFalse(floatSummary.batchNorm(), "BatchNorm is folded into the convolutions");
                assertEquals(13, floatSummary.opset());
                ModelSummary int8 = OnnxInspector.summary(OnnxModels.load(files.int8Onnx()));
                // x, the three convs' outputs (each the next layer's input; the pointwise conv's also
                // before the max-pool, with the same parameters) and fc's input after torch.flatten
                assertEquals(6, int8.quantizeLinear(), "one Q per quantized tensor");
                long int32Biases = OnnxModels.load(files.int8Onnx()).getGraph().getInitializerList().stream()
                        .filter(t -> t.getDataType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.INT32_VALUE
                                && t.getName().endsWith("_quantized")).count();
                assertEquals(4, int32Biases, "int32 biases of the convs, whose outputs are quantized, and of fc, whose "
                        + "output is the model's (a QGemm with a float output)");
                assertEquals(6 + 4 + int32Biases, int8.dequantizeLinear(), "DQ for every quantized tensor, weight and int32 bias");
                assertEquals(4, OnnxInspector.quantizedLayers(OnnxModels.load(files.int8Onnx())).size());
                assertTrue(Files.size(files.int8Onnx()) < Files.size(files.floatOnnx()));

                QuantParams written = ParamFile.read(files.paramFile());
                assertEquals(OnnxModels.sha256(files.floatOnnx()), written.model().sha256());
                assertEquals(4, written.quantizedLayers().size());
                assertEquals(OnnxModels.load(files.floatOnnx()).getGraph().getOutputList().stream()
                        .map(o -> o.getName()).toList(), written.model().outputs(), "the model's outputs are listed");
                assertFalse(written.model().outputs().isEmpty());

                // the vendor's plain-Python generate_final_model writes the same schema; Java reads it as its own
                Path py = Files.createDirectory(tmp.resolve("export_qat_python"));
                Path pth = qat.saveState(py.resolve("quant.pth"));
                try (PyHandle fresh = q.newFloatModel()) {
                    rt.call("quantbridge.torch:generate_final_model", List.of(fresh, qat.config().toMap(),
                            pth.toString(), py.toString()), Map.of("name", "digits"), null);
                }
                QuantParams fromPython = ParamFile.read(py.resolve("digits_quant_param.json"));
                assertEquals(written.layers(), fromPython.layers());
                assertEquals(written.points(), fromPython.points());
                assertEquals(written.model(), fromPython.model(), "same ONNX bytes, outputs and input shape");

                @SuppressWarnings("unchecked")
                NDArray<float[]> x = (NDArray<float[]>) rt.call(EX + ":test_inputs");
                OrtSessionRunner.Comparison c = q.verify(qat, files, x);
                System.out.printf("quantbridge digits torch: INT8 ONNX vs fake quant: %.2f%% same class of %d, "
                        + "max |dlogit| %.4f%n", 100 * c.agreement(), c.rows(), c.maxAbsDiff());
                assertEquals(360, c.rows());
                assertTrue(c.agreement() >= 0.99, "agreement " + c.agreement());

                byte[] before = Files.readAllBytes(files.int8Onnx());
                QuantBridgeException again = assertThrows(QuantBridgeException.class,
                        () -> q.export(qat, out, "digits", false, null));
                assertTrue(again.getMessage().contains("refusing to overwrite existing") && again.getMessage().contains("digits_int8.onnx"),
                        again.getMessage());
                assertArrayEquals(before, Files.readAllBytes(files.int8Onnx()), "nothing the user had is overwritten");
            }
        }
    }

    @Test
    void javaValidatesBeforePythonSeesTheConfig() throws Exception {
        QuantConfig cfg = int8Config("minmax");
        QuantConfig added = QuantConfig.parse(cfg.toJson().replace("\"fc/MatMul\"", "\"head/MatMul\""));
        QuantBridgeException unknown = assertThrows(QuantBridgeException.class, () -> optimizedCopy(added));
        assertTrue(unknown.getMessage().contains("'head/MatMul'"), unknown.getMessage());
        QuantConfig bad = QuantConfig.parse(cfg.toJson().replaceFirst("\"quant_strategy\": \"Quant_INT8-8\"",
                "\"quant_strategy\": \"Quant_INT4-4\""));
        QuantBridgeException strategy = assertThrows(QuantBridgeException.class, () -> optimizedCopy(bad));
        assertTrue(strategy.getMessage().contains("Quant_INT4-4") && strategy.getMessage().contains("features/0/Conv2D"),
                strategy.getMessage());
        QuantBridgeException shape = assertThrows(QuantBridgeException.class,
                () -> q.generateConfig(trained, "x:1,1,eight,8"));
        assertTrue(shape.getMessage().contains("eight"), shape.getMessage());
        assertEquals(floatAcc, accuracy(trained), "a refused config changes nothing");
    }

    @Test
    void exportIntoMissingDirectoryWritesNothing() throws Exception {
        try (QuantModel qm = optimizedCopy(int8Config("minmax"))) {
            qm.calibrate(EX + ":calibration_batches", Map.of(), 2, null);
            Path missing = tmp.resolve("no_such_dir");
            QuantBridgeException e = assertThrows(QuantBridgeException.class, () -> q.export(qm, missing, "m", false, null));
            assertTrue(e.getMessage().contains("no_such_dir") && e.getMessage().contains("does not exist"), e.getMessage());
            assertFalse(Files.exists(missing));
        }
    }
}
