package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.TF_PROJECT;
import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** Every step on the TensorFlow example project (tests/projects/tf_project), and its TensorFlow-specific errors. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliTfTest {
    private static final String GRAPH = "digitsgraph.graph:build_graph";
    private static final String DATA = "digitsgraph.data:calibration_batches";
    private static final String EVAL = "digitsgraph.train:evaluate";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path config;
    static Path floatCkpt;

    @BeforeAll
    static void floatCheckpoint() throws Exception {
        config = dir.resolve("config_gen.json");
        floatCkpt = dir.resolve("float.ckpt");
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(TF_PROJECT);
            double acc = ((Number) rt.call("digitsgraph.train:create_float_checkpoint", List.of(floatCkpt.toString()),
                    Map.of("epochs", 2), null)).doubleValue();
            assertTrue(acc > 80, "float accuracy " + acc);
        }
    }

    private static CliHarness.Result step(String cmd, Object... rest) {
        List<Object> args = new ArrayList<>(List.of(cmd, "-P", TF_PROJECT, "--graph", GRAPH));
        args.addAll(List.of(rest));
        return run(args.toArray());
    }

    @Test
    @Order(1)
    void configListsTheGraphsLayers() throws Exception {
        var r = run("config", "--framework", "tensorflow", "-P", TF_PROJECT, "-m", GRAPH, "--quantize-all", "-o", config)
                .expect(0);
        assertTrue(r.out().contains("3 TensorFlow layers, 3 set to Quant_INT8-8"), r.out());
        JsonNode c = JSON.readTree(config.toFile());
        assertEquals("Conv2D", c.get("layer_strategy").get("conv1/Conv2D").get("op_type").asText());
        assertEquals("MatMul", c.get("layer_strategy").get("fc/MatMul").get("op_type").asText());
        assertTrue(c.get("input_shape") == null);
    }

    @Test
    @Order(2)
    void calibrateNeedsTheFloatCheckpointAndSavesAPrefix() throws Exception {
        Path out = dir.resolve("quant.ckpt");
        step("calibrate", "-c", config, "-d", DATA, "-o", out).oneError(2, "--checkpoint PREFIX");
        step("calibrate", "-c", config, "-d", DATA, "--checkpoint", dir.resolve("nope.ckpt"), "-o", out)
                .oneError(2, "--checkpoint", "nope.ckpt.index");
        var r = step("calibrate", "-c", config, "--checkpoint", floatCkpt, "-d", DATA, "-n", 3, "--eval", EVAL, "-o", out)
                .expect(0);
        assertTrue(r.out().contains("calibrate  3/3") && r.out().contains("calibrated 3 of 3 layers on 3 batches"), r.out());
        assertTrue(r.out().contains("accuracy (" + EVAL + "): float "), r.out());
        assertTrue(Files.isRegularFile(dir.resolve("quant.ckpt.index")));
        step("calibrate", "-c", config, "--checkpoint", dir, "-d", DATA, "-o", out)
                .oneError(2, "refusing to overwrite the existing checkpoint", "--force");
    }

    @Test
    @Order(3)
    void trainPassesTheVendorFlagsAndInfoToTheUsersLoop() throws Exception {
        var r = step("train", "-c", config, "--from", dir.resolve("quant.ckpt"), "-t", "digitsgraph.train:train",
                "--train-arg", "epochs=1", "--train-arg", "lr=1e-4", "--eval", EVAL, "-o", dir.resolve("trained.ckpt"))
                .expect(0);
        assertTrue(r.out().contains("train      47/47 loss=") && r.out().contains("training returned loss="), r.out());
        assertTrue(r.out().contains("accuracy (" + EVAL + "): quantized "), r.out());
        assertTrue(Files.isRegularFile(dir.resolve("trained.ckpt.index")));
    }

    @Test
    @Order(4)
    void exportWritesThePbAndTheParameterFileAndTheReport() throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        var r = step("export", "-c", config, "--from", dir.resolve("trained.ckpt"), "-o", out, "--report", out, "-d", DATA,
                "-n", 2).expect(0);
        for (String f : List.of("model.pb", "model.onnx", "model_int8.onnx", "model_quant_param.json", "report.json",
                "report.html")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertTrue(r.out().contains("analyze    2/2"), r.out());
        var p = run("inspect", out.resolve("model_quant_param.json")).expect(0);
        assertTrue(p.out().contains("QuantBridge parameter file (TensorFlow), 3 layers, 3 quantized"), p.out());
        assertTrue(p.out().contains("outputs      output") || p.out().contains("outputs      logits"), p.out());
        step("export", "-c", config, "--from", dir.resolve("trained.ckpt"), "-o", out)
                .oneError(2, "refusing to overwrite existing", "model.pb");
        step("export", "-c", config, "--from", dir.resolve("trained.ckpt"), "-o", out, "--name", "other",
                "--output-name", "no_such_node").oneError(2, "ModelError", "'no_such_node'");
    }
}
