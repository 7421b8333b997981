package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.TORCH_PROJECT;
import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command on the PyTorch example project (tests/projects/torch_project), in the order a user
 * runs them, plus the error paths: exit codes, files produced and left alone, messages.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliTorchTest {
    private static final String MODEL = "digitsnet.model:build_model";
    private static final String DATA = "digitsnet.data:calibration_batches";
    private static final String EVAL = "digitsnet.train:evaluate";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path config;
    static Path weights;

    @BeforeAll
    static void floatWeights() throws Exception {
        config = dir.resolve("config_gen.json");
        weights = dir.resolve("float.pth");
        // The user's own script made float.pth before QuantBridge enters the picture.
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(TORCH_PROJECT);
            double acc = ((Number) rt.call("digitsnet.train:create_float_weights", List.of(weights.toString()),
                    Map.of("epochs", 2), null)).doubleValue();
            assertTrue(acc > 80, "float accuracy " + acc);
        }
    }

    /** {@code quantbridge <cmd> --pythonpath <project> --model <factory> rest...}. */
    private static CliHarness.Result step(String cmd, Object... rest) {
        List<Object> args = new ArrayList<>(List.of(cmd, "-P", TORCH_PROJECT, "-m", MODEL));
        args.addAll(List.of(rest));
        return run(args.toArray());
    }

    @Test
    @Order(1)
    void configWritesTheTemplateAndRefusesToOverwrite() throws Exception {
        var r = run("config", "--framework", "torch", "--pythonpath", TORCH_PROJECT, "--model", MODEL, "--input-shape",
                "x:1,1,8,8", "--quantize-all", "--calibration", "percentile", "--out", config).expect(0);
        assertTrue(r.out().contains("4 PyTorch layers, 4 set to Quant_INT8-8, calibration percentile"), r.out());
        JsonNode c = JSON.readTree(config.toFile());
        assertEquals("x:1,1,8,8", c.get("input_shape").asText());
        assertEquals(List.of("conv1/Conv2D", "conv2/Conv2D", "fc1/MatMul", "fc2/MatMul"), names(c.get("layer_strategy")));
        c.get("layer_strategy").forEach(l -> assertEquals("Quant_INT8-8", l.get("quant_strategy").asText()));
        assertEquals("<class 'torch.nn.modules.conv.Conv2d'>", c.get("layer_strategy").get("conv1/Conv2D").get("op_type").asText());
        assertEquals("percentile", c.get("quantbridge").get("calibration").get("method").asText());

        String before = Files.readString(config);
        run("config", "--framework", "torch", "-P", TORCH_PROJECT, "-m", MODEL, "--input-shape", "x:1,1,8,8", "-o", config)
                .oneError(2, "refusing to overwrite", "--force");
        assertEquals(before, Files.readString(config));
        var plain = run("config", "--framework", "torch", "-P", TORCH_PROJECT, "-m", MODEL, "--input-shape", "x:1,1,8,8",
                "-o", dir.resolve("plain.json")).expect(0);
        assertTrue(plain.out().contains("0 set to Quant_INT8-8") && plain.out().contains("next: set the layers"), plain.out());
        run("config", "--framework", "torch", "-P", TORCH_PROJECT, "-m", MODEL, "--input-shape", "x:1,1,8,8", "-o",
                dir.resolve("plain.json"), "--force", "--quantize-all").expect(0);
        assertTrue(Files.readString(dir.resolve("plain.json")).contains("Quant_INT8-8"));
    }

    @Test
    @Order(2)
    void calibrateSavesTheStateAndReportsAccuracyAndLayers() throws Exception {
        Path report = Files.createDirectories(dir.resolve("calib_report"));
        var r = step("calibrate", "-c", config, "--weights", weights, "-d", DATA, "--data-arg", "batch_size=16",
                "--batches", 3, "--eval", EVAL, "-o", dir.resolve("quant.pth"), "--report", report).expect(0);
        assertTrue(r.out().contains("calibrate  3/3"), "progress lines:\n" + r.out());
        assertTrue(r.out().contains("calibrated 4 of 4 layers on 3 batches"), r.out());
        assertTrue(r.out().matches("(?s).*accuracy \\(" + EVAL + "\\): float \\d+\\.\\d\\d, quantized \\d+\\.\\d\\d.*"), r.out());
        assertTrue(Files.size(dir.resolve("quant.pth")) > 1000);
        assertTrue(Files.isRegularFile(report.resolve("report.json")) && Files.isRegularFile(report.resolve("report.html")));
        JsonNode rep = JSON.readTree(report.resolve("report.json").toFile());
        assertEquals(4, rep.get("summary").get("quantized").asInt());
        assertEquals(2, rep.get("accuracy").size(), "float and calibrated accuracy");

        FileTime t = Files.getLastModifiedTime(dir.resolve("quant.pth"));
        step("calibrate", "-c", config, "-d", DATA, "-o", dir.resolve("quant.pth"))
                .oneError(2, "refusing to overwrite existing " + dir.resolve("quant.pth"), "--force");
        assertEquals(t, Files.getLastModifiedTime(dir.resolve("quant.pth")));
    }

    @Test
    @Order(3)
    void trainStartsFromTheCalibratedStateAndCallsTheUsersLoop() throws Exception {
        var r = step("train", "-c", config, "--from", dir.resolve("quant.pth"), "-t", "digitsnet.train:train",
                "--train-arg", "epochs=1", "--train-arg", "lr=1e-4", "--eval", EVAL, "-o", dir.resolve("qat.pth")).expect(0);
        assertTrue(r.out().contains("train      47/47 loss="), "progress from the user's progress(...) calls:\n" + r.out());
        assertTrue(r.out().contains("training returned loss=") && r.out().contains("steps=47"), r.out());
        assertTrue(r.out().contains("accuracy (" + EVAL + "): quantized "), r.out());
        assertTrue(Files.isRegularFile(dir.resolve("qat.pth")));
    }

    @Test
    @Order(4)
    void exportWritesTheModelsAndTheParameterFileAllOrNothing() throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        var r = step("export", "-c", config, "--from", dir.resolve("qat.pth"), "-o", out, "--name", "digits", "--eval", EVAL)
                .expect(0);
        for (String f : List.of("digits.onnx", "digits_int8.onnx", "digits_quant_param.json")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
            assertTrue(r.out().contains("wrote " + out.resolve(f)), r.out());
        }
        try (var files = Files.list(out)) {
            assertEquals(3, files.count(), "no staging leftovers");
        }
        FileTime t = Files.getLastModifiedTime(out.resolve("digits.onnx"));
        step("export", "-c", config, "--from", dir.resolve("qat.pth"), "-o", out, "--name", "digits")
                .oneError(2, "refusing to overwrite existing", "digits_int8.onnx", "--force");
        assertEquals(t, Files.getLastModifiedTime(out.resolve("digits.onnx")));
        step("export", "-c", config, "--from", dir.resolve("qat.pth"), "-o", dir.resolve("no_such_dir"))
                .oneError(2, "no_such_dir", "does not exist", "create it first");
        step("export", "-c", config, "--from", dir.resolve("missing.pth"), "-o", out, "--name", "other")
                .oneError(2, "--from", "missing.pth", "does not exist");
        step("export", "-c", config, "--from", weights, "-o", out, "--name", "other")
                .oneError(2, "CheckpointError", "does not fit the model");
    }

    @Test
    @Order(5)
    void inspectShowsTheQuantizedLayersOfEachFile() {
        Path out = dir.resolve("out");
        var int8 = run("inspect", out.resolve("digits_int8.onnx")).expect(0);
        assertTrue(int8.out().contains("ONNX model, quantized (QDQ)") && int8.out().contains("quantized    4 layers"),
                int8.out());
        // weights as uint8 codes with zero point 128 (the default onnx_weight_type)
        assertEquals(2, int8.out().lines().filter(l -> l.matches("\\s+Conv_\\d+\\s+Conv\\s+uint8 zp 128 .*")).count(), int8.out());
        assertEquals(2, int8.out().lines().filter(l -> l.matches("\\s+Gemm_\\d+\\s+Gemm\\s+uint8 zp 128 .*")).count(), int8.out());
        var fl = run("inspect", out.resolve("digits.onnx")).expect(0);
        assertTrue(fl.out().contains("ONNX model, float") && fl.out().contains("none (folded)"), fl.out());
        var params = run("inspect", out.resolve("digits_quant_param.json")).expect(0);
        assertTrue(params.out().contains("QuantBridge parameter file (PyTorch), 4 layers, 4 quantized"), params.out());
        assertTrue(params.out().lines().anyMatch(l -> l.matches("\\s+fc2/MatMul\\s+nn\\.Linear\\s+Quant_INT8-8\\s+Gemm_\\d+.*")),
                params.out());
        var cfg = run("inspect", config).expect(0);
        assertTrue(cfg.out().contains("calibration  percentile"), cfg.out());
    }

    @Test
    @Order(6)
    void reportCommandWritesTheReportOfASavedState() throws Exception {
        Path out = Files.createDirectories(dir.resolve("report"));
        var r = step("report", "-c", config, "--from", dir.resolve("qat.pth"), "-d", DATA, "-n", 2, "-o", out).expect(0);
        assertTrue(r.out().contains("report of 4 layers, 4 quantized") && r.out().contains("analyze    2/2"), r.out());
        assertTrue(Files.readString(out.resolve("report.html")).contains("conv1/Conv2D"));
        step("report", "-c", config, "--from", dir.resolve("qat.pth"), "-d", DATA, "-o", out)
                .oneError(2, "refusing to overwrite", "report.json");
    }

    @Test
    @Order(7)
    void wrongModuleOrFunctionSaysWhichPartIsMissing() {
        step("calibrate", "-c", config, "-d", "digitsnet.dta:calibration_batches", "-o", dir.resolve("x.pth"))
                .oneError(2, "--data 'digitsnet.dta:calibration_batches'", "module part 'digitsnet.dta' was not found",
                        TORCH_PROJECT.toString());
        step("calibrate", "-c", config, "-d", "digitsnet.data:calib_batches", "-o", dir.resolve("x.pth"))
                .oneError(2, "function part 'calib_batches' was not found", "data.py", "calibration_batches");
        step("calibrate", "-c", config, "-d", "nosuchpkg.data:batches", "-o", dir.resolve("x.pth"))
                .oneError(2, "no package 'nosuchpkg'");
        run("config", "--framework", "torch", "-P", TORCH_PROJECT, "-m", "digitsnet.model:build", "--input-shape",
                "x:1,1,8,8", "-o", dir.resolve("c.json")).oneError(2, "--model 'digitsnet.model:build'",
                "function part 'build' was not found", "build_model");
        step("calibrate", "-c", config, "-d", "digitsnet.data:SEED", "-o", dir.resolve("x.pth"))
                .oneError(2, "not a function");
        assertFalse(Files.exists(dir.resolve("x.pth")));
    }

    @Test
    @Order(8)
    void configsThatDoNotFitTheModelAreRefused() throws Exception {
        ObjectNode extra = (ObjectNode) JSON.readTree(config.toFile());
        ((ObjectNode) extra.get("layer_strategy")).putObject("conv9/Conv2D")
                .put("op_type", "<class 'torch.nn.modules.conv.Conv2d'>").put("quant_strategy", "Quant_INT8-8");
        Path extraLayer = Files.writeString(dir.resolve("extra_layer.json"), extra.toPrettyString());
        step("calibrate", "-c", extraLayer, "-d", DATA, "-o", dir.resolve("x.pth"))
                .oneError(2, "layer 'conv9/Conv2D'", "not a quantizable layer of this model", "conv1/Conv2D");

        ObjectNode int4 = (ObjectNode) JSON.readTree(config.toFile());
        ((ObjectNode) int4.get("layer_strategy").get("fc1/MatMul")).put("quant_strategy", "Quant_INT4-4");
        Path badStrategy = Files.writeString(dir.resolve("int4.json"), int4.toPrettyString());
        step("train", "-c", badStrategy, "-t", "digitsnet.train:train", "-o", dir.resolve("x.pth"))
                .oneError(2, "layer 'fc1/MatMul'", "'Quant_INT4-4' is not supported", "Quant_INT8-8");

        ObjectNode shape = (ObjectNode) JSON.readTree(config.toFile());
        shape.put("input_shape", "x:1;1");
        Path badShape = Files.writeString(dir.resolve("bad_shape.json"), shape.toPrettyString());
        step("export", "-c", badShape, "--from", dir.resolve("qat.pth"), "-o", dir.resolve("out"), "--name", "x")
                .oneError(2, "input_shape", "malformed");
        assertFalse(Files.exists(dir.resolve("x.pth")));
    }

    @Test
    @Order(9)
    void errorsInUserCodeExitThreeAndVerboseAddsTheTraceback() {
        var plain = step("calibrate", "-c", config, "-d", DATA, "--data-arg", "num_batches=many", "-o", dir.resolve("x.pth"))
                .oneError(3, "TypeError", "run with --verbose for the Python traceback");
        assertFalse(plain.err().contains("Traceback"));
        for (boolean before : List.of(true, false)) {
            List<Object> args = new ArrayList<>(List.of("calibrate", "-P", TORCH_PROJECT, "-m", MODEL, "-c", config,
                    "-d", DATA, "--data-arg", "num_batches=many", "-o", dir.resolve("x.pth")));
            args.add(before ? 0 : args.size(), "--verbose");
            var verbose = run(args.toArray()).expect(3);
            assertTrue(verbose.errLines().get(0).startsWith("error: TypeError"), verbose.err());
            assertTrue(verbose.err().contains("Traceback (most recent call last)")
                    && verbose.err().contains("digitsnet/data.py"), verbose.err());
        }
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
