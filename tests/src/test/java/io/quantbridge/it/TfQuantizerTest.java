package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtOptimized;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ParamFile;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.PythonException;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.tf.TfExport;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.tf.TfSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jep.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TensorFlow workflow driven from Java on the digits example (real TF 2.8 graph mode):
 * config, PTQ, QAT through the vendor's flags, frozen .pb, float and INT8 ONNX (tf2onnx, then the QDQ
 * builder) and parameter file, errors.
 */
class TfQuantizerTest {
    private static final String EX = "quantbridge.examples.digits_tf";
    private static final Map<String, Object> QUANT = Map.of("quant_flag:0", 1, "is_train:0", false);
    private static final Map<String, Object> FLOAT = Map.of("quant_flag:0", 0, "is_train:0", false);
    private static PythonRuntime rt;
    private static TfQuantizer q;
    private static Path floatCkpt;
    private static double floatAcc;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void trainFloat() throws Exception {
        rt = Runtimes.open();
        q = new TfQuantizer(rt, new TfProject(List.of(), EX + ":build_graph", Map.of(), "input:0", List.of("logits")));
        try (TfSession f = q.openFloat()) {
            f.initialize();
            f.call(EX + ":train_float", Map.of("epochs", 12), "train", null);
            floatAcc = accuracy(f, Map.of());
            floatCkpt = f.save(tmp.resolve("float.ckpt"));
        }
        System.out.printf("quantbridge digits tf: float top-1 %.2f%%%n", floatAcc);
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    private static double accuracy(TfSession s, Map<String, Object> feed) throws QuantBridgeException {
        return ((Number) s.call(EX + ":evaluate", Map.of("feed_extra", feed), "evaluate", null)).doubleValue();
    }

    private static QuantConfig int8Config() throws QuantBridgeException {
        QuantConfig cfg = q.generateConfig();
        cfg.quantizeAll("Quant_INT8-8");
        return cfg;
    }

    @Test
    void configListsEveryConvDepthwiseAndMatMul() throws Exception {
        QuantConfig cfg = q.generateConfig();
        List<String> ops = cfg.layers().stream().map(l -> l.opType()).toList();
        assertEquals(List.of("Conv2D", "DepthwiseConv2dNative", "Conv2D", "MatMul"), ops);
        assertEquals(cfg.toJson(), QuantConfig.parse(cfg.toJson()).toJson());
    }

    @Test
    void quantFlagZeroIsTheFloatGraphAndPtqStaysWithinOnePoint() throws Exception {
        try (TfSession s = q.optimize(int8Config(), floatCkpt)) {
            assertEquals(floatAcc, accuracy(s, FLOAT), "quant_flag=0 runs the original float graph");
            assertEquals(8, s.calibrate(EX + ":calibration_batches", Map.of(), 0, null));
            double acc = accuracy(s, QUANT);
            System.out.printf("quantbridge digits tf: PTQ top-1 %.2f%%%n", acc);
            assertTrue(acc >= floatAcc - 1.0, "PTQ " + acc + " vs float " + floatAcc);
            QuantParams params = s.params();
            assertEquals(4, params.quantizedLayers().size());
            for (LayerParams l : params.quantizedLayers()) {
                assertTrue(l.activation().max() > l.activation().min(), l.name());
            }
        }
    }

    @Test
    void qatWithinHalfPointAndFrozenPbMatchesTheSession() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("export_tf"));
        try (TfSession s = q.optimize(int8Config(), floatCkpt)) {
            s.calibrate(EX + ":calibration_batches", Map.of(), 0, null);
            s.call(EX + ":train", Map.of("quant_flag", 1, "is_train_flag", true, "epochs", 2), "train", null);
            double acc = accuracy(s, QUANT);
            System.out.printf("quantbridge digits tf: QAT top-1 %.2f%%%n", acc);
            assertTrue(acc >= floatAcc - 0.5, "QAT " + acc + " vs float " + floatAcc);

            TfExport files = q.export(s, out, "digits", false, null);
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(4, left.count(), "the .pb, the float and INT8 ONNX and the parameter file, nothing else");
            }
            QuantParams written = ParamFile.read(files.paramFile());
            assertEquals("tensorflow", written.framework().toString().toLowerCase(java.util.Locale.ROOT));
            assertEquals(List.of("logits"), written.model().outputs());
            assertEquals(ParamFile.toJson(written), Files.readString(files.paramFile()), "written once, by Java");

            // the vendor's plain-Python generate_final_model writes the same schema; Java reads it as its own
            Path py = Files.createDirectory(tmp.resolve("export_tf_python"));
            Path ckpt = s.save(py.resolve("quant.ckpt"));
            try (TfSession fresh = q.openFloat(); PyHandle sess = (PyHandle) rt.getAttr(fresh.handle(), "sess")) {
                rt.call("quantbridge.tf:generate_final_model", List.of(sess, int8Config().toMap(), List.of("logits"),
                        ckpt.toString(), py.toString()), Map.of("name", "digits"), null);
            }
            QuantParams fromPython = ParamFile.read(py.resolve("digits_quant_param.json"));
            assertEquals(written.layers(), fromPython.layers());
            assertEquals(written.points(), fromPython.points());
            assertEquals(written.model().outputs(), fromPython.model().outputs());
            assertEquals(written.model().inputShape(), fromPython.model().inputShape());
            assertEquals(ParamFile.read(files.paramFile()).model().sha256(), io.quantbridge.params.ModelInfo.sha256(files.frozenPb()));

            @SuppressWarnings("unchecked")
            NDArray<float[]> x = (NDArray<float[]>) rt.call(EX + ":test_inputs");
            OrtSessionRunner.Comparison c = q.verify(s, files, x);
            System.out.printf("quantbridge digits tf: frozen .pb vs session: %.2f%% same class, max |dlogit| %.4f%n",
                    100 * c.agreement(), c.maxAbsDiff());
            // BN folding changes rounding by ~1e-6, which can move a value to the next uint8 step.
            assertTrue(c.agreement() >= 0.99, "agreement " + c.agreement());
            assertTrue(c.maxAbsDiff() <= 0.05, "max logit difference " + c.maxAbsDiff());

            OrtSessionRunner.Comparison onnx = q.verifyOnnx(s, files, x);
            Map<String, Integer> ops = OrtOptimized.opCounts(OrtOptimized.optimize(OnnxModels.load(files.int8Onnx())));
            System.out.printf("quantbridge digits tf: INT8 ONNX (ONNX Runtime, Java) vs session: %.2f%% same class, "
                    + "relative output error %.2e, max |dlogit| %.4f; integer kernels after ORT optimization: %d %s%n",
                    100 * onnx.agreement(), onnx.relativeError(), onnx.maxAbsDiff(), OrtOptimized.integerKernels(ops), ops);
            assertTrue(onnx.agreement() >= 0.99, "INT8 ONNX agreement " + onnx.agreement());
            assertTrue(onnx.relativeError() < 1e-5, "INT8 ONNX relative output error " + onnx.relativeError());
            assertInt8Onnx(files, 4);
            // the three convolutions feed quantized layers: each requantizes to that layer's input
            // (the session computes the same integer arithmetic) and ONNX Runtime runs it as QLinearConv
            assertEquals(List.of("conv1/Conv2D", "dw/depthwise", "pw/Conv2D"),
                    written.points().stream().map(p -> p.name()).toList());
            assertEquals(3, ops.getOrDefault("QLinearConv", 0), "integer convolutions " + ops);
            assertFalse(ops.containsKey("Conv"), "no float convolution left " + ops);

            byte[] before = Files.readAllBytes(files.frozenPb());
            assertThrows(QuantBridgeException.class, () -> q.export(s, out, "digits", false, null));
            assertArrayEquals(before, Files.readAllBytes(files.frozenPb()));
        }
    }

    /**
     * The INT8 ONNX quantizes every layer: one weight initializer of int8 codes (stored as uint8 plus 128) per quantized layer, read through a
     * per-channel DequantizeLinear on the output-channel axis, and a QuantizeLinear on each layer's input.
     */
    static void assertInt8Onnx(TfExport files, int layers) throws Exception {
        ModelProto m = OnnxModels.load(files.int8Onnx());
        assertEquals(layers, m.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.UINT8_VALUE && t.getName().endsWith(":0_quantized"))
                .count(), "weights as uint8 codes (int8 plus 128, the default onnx_weight_type)");
        assertFalse(m.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().endsWith("quantbridge/weight:0")),
                "no float copy of a quantized weight is left");
        Map<String, Integer> ops = OrtOptimized.opCounts(m);
        assertTrue(ops.getOrDefault("QuantizeLinear", 0) >= 1 && ops.getOrDefault("DequantizeLinear", 0) >= 2 * layers,
                ops.toString());
        assertEquals(OnnxModels.load(files.floatOnnx()).getGraph().getInput(0).getName(),
                m.getGraph().getInput(0).getName());
    }

    @Test
    void errorsNameWhatIsWrongAndWriteNothing() throws Exception {
        QuantConfig cfg = int8Config();
        QuantConfig extra = QuantConfig.parse(cfg.toJson().replace("\"fc/MatMul\"", "\"head/MatMul\""));
        QuantBridgeException e = assertThrows(QuantBridgeException.class, () -> q.optimize(extra, floatCkpt));
        assertTrue(e.getMessage().contains("head/MatMul"), e.getMessage());

        Path out = Files.createDirectory(tmp.resolve("bad_outputs"));
        TfQuantizer wrongOutputs = new TfQuantizer(rt, new TfProject(List.of(), EX + ":build_graph", Map.of(),
                "input:0", List.of("no_such_node")));
        PythonException p = assertThrows(PythonException.class, () -> wrongOutputs.optimize(cfg, floatCkpt));
        assertTrue(p.isType("ModelError") && p.getMessage().contains("'no_such_node'"), p.getMessage());
        try (TfSession s = q.optimize(cfg, floatCkpt)) {
            s.calibrate(EX + ":calibration_batches", Map.of(), 1, null);
            assertThrows(IllegalArgumentException.class, () -> q.export(s, out, "bad-name", false, null));
            Path missing = tmp.resolve("missing_dir");
            QuantBridgeException dir = assertThrows(QuantBridgeException.class, () -> q.export(s, missing, "m", false, null));
            assertTrue(dir.getMessage().contains("missing_dir"), dir.getMessage());
            assertFalse(Files.exists(missing));
        }
        try (Stream<Path> left = Files.list(out)) {
            assertFalse(left.findAny().isPresent(), "a failed export leaves nothing behind");
        }
    }
}
