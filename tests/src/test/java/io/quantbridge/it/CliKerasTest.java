package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.KERAS_PROJECT;
import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every step on the Keras example project (tests/projects/keras_project): a Functional model whose
 * builder returns tensor names, and a Sequential one whose builder returns the Keras model itself.
 * The frozen .pb is run afterwards and must score what the quantized session scored; the INT8 ONNX
 * runs in ONNX Runtime (Java) on the data batches and must agree with the quantized session.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliKerasTest {
    private static final String FUNCTIONAL = "digitskeras.model:build_functional";
    private static final String SEQUENTIAL = "digitskeras.model:build_sequential";
    private static final String DATA = "digitskeras.data:calibration_batches";
    private static final String EVAL = "digitskeras.train:evaluate";
    private static final Pattern QUANT_ACC = Pattern.compile("quantized (\\d+\\.\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern INT8_AGREES = Pattern.compile("deployed model_int8\\.onnx \\(ONNX Runtime, Java\\): agrees "
            + "with the quantized model on ([0-9.]+)% of (\\d+) inputs");

    @TempDir
    static Path dir;
    static Path floatCkpt;
    static Path seqCkpt;

    @BeforeAll
    static void floatCheckpoints() throws Exception {
        floatCkpt = dir.resolve("float.ckpt");
        seqCkpt = dir.resolve("seq_float.ckpt");
        try (PythonRuntime rt = Runtimes.open()) {
            rt.addPythonPath(KERAS_PROJECT);
            double acc = ((Number) rt.call("digitskeras.train:create_float_checkpoint", List.of(floatCkpt.toString()),
                    Map.of("builder", "build_functional", "epochs", 2), null)).doubleValue();
            assertTrue(acc > 80, "functional float accuracy " + acc);
            acc = ((Number) rt.call("digitskeras.train:create_float_checkpoint", List.of(seqCkpt.toString()),
                    Map.of("builder", "build_sequential", "epochs", 1), null)).doubleValue();
            assertTrue(acc > 80, "sequential float accuracy " + acc);
        }
    }

    private static CliHarness.Result step(String graph, String cmd, Object... rest) {
        List<Object> args = new ArrayList<>(List.of(cmd, "-P", KERAS_PROJECT, "--graph", graph));
        args.addAll(List.of(rest));
        return run(args.toArray());
    }

    private static double quantizedAccuracy(CliHarness.Result r) {
        Matcher m = QUANT_ACC.matcher(r.out());
        assertTrue(m.find(), r.out());
        return Double.parseDouble(m.group(1));
    }

    private static double frozenAccuracy(Path pb, String output) throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            rt.addPythonPath(KERAS_PROJECT);
            return ((Number) rt.call("qb_keras:frozen_accuracy", pb.toString(), "images:0", output)).doubleValue();
        }
    }

    /** The INT8 ONNX (tf2onnx, then the QDQ builder) in ONNX Runtime (Java) agrees with the quantized session. */
    private static void assertInt8OnnxAgrees(CliHarness.Result r, String which) {
        Matcher m = INT8_AGREES.matcher(r.out());
        assertTrue(m.find(), r.out());
        System.out.println("quantbridge keras " + which + ": " + m.group());
        assertEquals(4 * 32, Long.parseLong(m.group(2)), r.out());
        assertTrue(Double.parseDouble(m.group(1)) >= 99.0, r.out());
    }

    @Test
    @Order(1)
    void configListsTheKerasLayers() throws Exception {
        Path config = dir.resolve("config_gen.json");
        var r = run("config", "--framework", "tensorflow", "-P", KERAS_PROJECT, "-m", FUNCTIONAL, "--quantize-all",
                "-o", config).expect(0);
        assertTrue(r.out().contains("4 TensorFlow layers, 4 set to Quant_INT8-8"), r.out());
        JsonNode c = JSON.readTree(config.toFile());
        assertEquals("DepthwiseConv2dNative", c.get("layer_strategy").get("dw/depthwise").get("op_type").asText());
        assertEquals("MatMul", c.get("layer_strategy").get("logits/MatMul").get("op_type").asText());
    }

    @Test
    @Order(2)
    void calibrateTrainExportAndTheFrozenPbScoresLikeTheSession() throws Exception {
        Path config = dir.resolve("config_gen.json");
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", floatCkpt, "-d", DATA, "-n", 4, "--eval", EVAL,
                "-o", dir.resolve("quant.ckpt")).expect(0);
        var t = step(FUNCTIONAL, "train", "-c", config, "--from", dir.resolve("quant.ckpt"), "-t",
                "digitskeras.train:train", "--train-arg", "max_steps=15", "--train-arg", "lr=1e-4", "--eval", EVAL,
                "-o", dir.resolve("trained.ckpt")).expect(0);
        assertTrue(t.out().contains("train      15/15 loss=") && t.out().contains("training returned loss="), t.out());
        Path out = Files.createDirectories(dir.resolve("out"));
        var e = step(FUNCTIONAL, "export", "-c", config, "--from", dir.resolve("trained.ckpt"), "-o", out, "--eval", EVAL,
                "-d", DATA, "-n", 4).expect(0);
        for (String f : List.of("model.pb", "model.onnx", "model_int8.onnx", "model_quant_param.json")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertInt8OnnxAgrees(e, "functional");
        var p = run("inspect", out.resolve("model_quant_param.json")).expect(0);
        assertTrue(p.out().contains("QuantBridge parameter file (TensorFlow), 4 layers, 4 quantized"), p.out());
        double session = quantizedAccuracy(e);
        double frozen = frozenAccuracy(out.resolve("model.pb"), "logits/BiasAdd");
        assertTrue(session > 80, e.out());
        assertTrue(Math.abs(frozen - session) <= 1.0, "frozen .pb " + frozen + "% vs quantized session " + session + "%");
    }

    @Test
    @Order(3)
    void aBuilderThatReturnsTheKerasModelWorksToo() throws Exception {
        Path config = dir.resolve("seq_config.json");
        var r = run("config", "--framework", "tensorflow", "-P", KERAS_PROJECT, "-m", SEQUENTIAL, "--quantize-all",
                "-o", config).expect(0);
        assertTrue(r.out().contains("4 TensorFlow layers, 4 set to Quant_INT8-8"), r.out());
        step(SEQUENTIAL, "calibrate", "-c", config, "--checkpoint", seqCkpt, "-d", DATA, "-n", 4,
                "-o", dir.resolve("seq_quant.ckpt")).expect(0);
        Path out = Files.createDirectories(dir.resolve("seq_out"));
        var e = step(SEQUENTIAL, "export", "-c", config, "--from", dir.resolve("seq_quant.ckpt"), "-o", out, "--eval", EVAL,
                "-d", DATA, "-n", 4).expect(0);
        assertInt8OnnxAgrees(e, "sequential");
        JsonNode params = JSON.readTree(out.resolve("model_quant_param.json").toFile());
        String output = params.get("model").get("outputs").get(0).asText();
        double frozen = frozenAccuracy(out.resolve("model.pb"), output);
        assertTrue(Math.abs(frozen - quantizedAccuracy(e)) <= 1.0, e.out() + "\nfrozen " + frozen);
    }

    @Test
    @Order(4)
    void damagedOrForeignCheckpointsAreOneLineExitTwo() throws Exception {
        Path config = dir.resolve("config_gen.json");
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        for (String suffix : List.of(".index", ".data-00000-of-00001")) {
            Files.copy(Path.of(floatCkpt + suffix), Path.of(bad.resolve("trunc.ckpt") + suffix));
        }
        Path data = Path.of(bad.resolve("trunc.ckpt") + ".data-00000-of-00001");
        Files.write(data, Arrays.copyOf(Files.readAllBytes(data), (int) Files.size(data) / 3));
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", bad.resolve("trunc.ckpt"), "-d", DATA,
                "-o", dir.resolve("q2.ckpt")).oneError(2, "CheckpointError", "trunc.ckpt", "damaged or truncated");
        Files.write(bad.resolve("model.pth.index"), new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0});
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", bad.resolve("model.pth"), "-d", DATA,
                "-o", dir.resolve("q2.ckpt")).oneError(2, "CheckpointError", "model.pth", "torch.save");
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", seqCkpt, "-d", DATA,
                "-o", dir.resolve("q2.ckpt")).oneError(2, "CheckpointError", "does not fit the graph", "logits/kernel: graph [256, 10], checkpoint [32, 10]");
        step(FUNCTIONAL, "export", "-c", config, "--from", floatCkpt, "-o", dir.resolve("out"), "--name", "other")
                .oneError(2, "CheckpointError", "no activation ranges");
        assertTrue(!Files.exists(dir.resolve("q2.ckpt.index")) && !Files.exists(dir.resolve("out/other.pb")));
    }

    @Test
    @Order(5)
    void unusableBatchesAreOneLineExitTwo() {
        Path config = dir.resolve("config_gen.json");
        String helpers = Runtimes.home().resolve("tests/src/test/python").toString();
        Map<String, String> cases = Map.of(
                "qb_bad_data:none_batch", "batch 2 is None; expected an array of shape (?, 8, 8, 1) (float32)",
                "qb_bad_data:half_batches", "batch 1 holds float16",
                "qb_bad_data:flat_batches", "batch 1 has shape (4, 64) (rank 2)",
                "qb_bad_data:nothing", "yielded no batches",
                "qb_bad_data:not_batches", "returned int; expected an iterable of batches");
        for (var c : cases.entrySet()) {
            run("calibrate", "-P", KERAS_PROJECT + ":" + helpers, "--graph", FUNCTIONAL, "-c", config, "--checkpoint",
                    floatCkpt, "-d", c.getKey(), "-o", dir.resolve("q3.ckpt"))
                    .oneError(2, "DataError", "data function " + c.getKey(), c.getValue());
        }
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", floatCkpt, "-d", DATA, "--data-arg", "batch_size=0",
                "-o", dir.resolve("q3.ckpt")).oneError(2, "DataError", "batch 1 is empty");
        step(FUNCTIONAL, "calibrate", "-c", config, "--checkpoint", floatCkpt, "-d", DATA, "--data-arg", "size=16",
                "-o", dir.resolve("q3.ckpt")).oneError(2, "DataError", "(32, 16, 16, 1)", "dimension 1 differs");
        assertTrue(!Files.exists(dir.resolve("q3.ckpt.index")));
    }
}
