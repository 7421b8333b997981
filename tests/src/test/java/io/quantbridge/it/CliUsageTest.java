package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.cli.Main;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line's help, usage errors and the checks that run before Python starts. */
class CliUsageTest {
    private static final String TORCH_CONFIG = """
            {
              "input_shape": "x:1,1,8,8",
              "layer_strategy": {
                "conv1/Conv2D": {"op_type": "<class 'torch.nn.modules.conv.Conv2d'>", "quant_strategy": "Quant_INT8-8"},
                "fc/MatMul": {"op_type": "<class 'torch.nn.modules.linear.Linear'>", "quant_strategy": "float"}
              },
              "quantbridge": {"calibration": {"method": "percentile", "percentile": 99.9}}
            }
            """;
    private static final String TF_CONFIG = """
            {"layer_strategy": {"conv1/Conv2D": {"op_type": "Conv2D", "quant_strategy": "Quant_INT8-8"},
                                "fc/MatMul": {"op_type": "MatMul", "quant_strategy": "float"}}}
            """;

    @Test
    void helpListsEveryCommandTheLauncherCommandsAndTheExitCodes() {
        var r = run("--help").expect(0);
        for (String cmd : List.of("config", "calibrate", "train", "export", "inspect", "report", "doctor", "demo",
                "setup", "test")) {
            assertTrue(r.out().contains("\n  " + cmd + " "), () -> cmd + " missing from:\n" + r.out());
        }
        assertTrue(r.out().contains("Launcher commands (./quantbridge only)"), r.out());
        for (String code : List.of("2 +bad input", "3 +error in Python code", "4 +environment problem",
                "5 +NaN or Inf produced", "130 +interrupted", "134 +crashed in native code", "143 +terminated")) {
            assertTrue(java.util.regex.Pattern.compile("\\n +" + code).matcher(r.out()).find(),
                    () -> "exit code '" + code + "' missing from:\n" + r.out());
        }
        for (String cmd : List.of("config", "calibrate", "train", "export", "inspect", "report")) {
            var sub = run(cmd, "--help").expect(0);
            assertTrue(sub.out().startsWith("Usage: quantbridge " + cmd), sub.out());
        }
        assertTrue(run("calibrate", "--help").out().contains("--verbose"), "--verbose is inherited");
    }

    @Test
    void usageErrorsExitTwoWithOneLine() {
        run("bogus").oneError(Main.EXIT_INPUT, "'bogus'", "quantbridge --help");
        run("config", "--framework", "torch").oneError(2, "--model", "quantbridge config --help");
        run("config", "--framework", "pytorch", "-m", "a:b").oneError(2, "--framework", "torch, tensorflow");
        run("calibrate", "-c", "x.json", "-m", "a:b", "-d", "a:c", "--no-such-option")
                .oneError(2, "--no-such-option");
        run("calibrate", "-c", "x.json", "-m", "a:b", "-d", "a:c", "--batches", "many").oneError(2, "--batches");
    }

    @Test
    void configChecksItsArgumentsBeforeStartingPython(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("config_gen.json");
        run("config", "-m", "model:build", "-o", out).oneError(2, "--framework torch or --framework tensorflow");
        run("config", "--framework", "torch", "-m", "model.build", "-o", out)
                .oneError(2, "--model 'model.build'", "':' between the module and the function is missing");
        run("config", "--framework", "torch", "-m", ":build", "-o", out).oneError(2, "module part before ':' is empty");
        run("config", "--framework", "torch", "-m", "model:", "-o", out).oneError(2, "function part after ':' is empty");
        run("config", "--framework", "torch", "-m", "my/model.py:build", "-o", out)
                .oneError(2, "not a dotted Python module name");
        run("config", "--framework", "torch", "-m", "model:build", "-o", out).oneError(2, "--input-shape");
        run("config", "--framework", "torch", "-P", tmp.resolve("nowhere"), "-m", "model:build", "--input-shape",
                "x:1,8", "-o", out).oneError(2, "--pythonpath", "nowhere", "not a directory");
        run("config", "--framework", "torch", "-m", "model:build", "--input-shape", "x:1,a", "-o", out)
                .oneError(2, "input_shape part 'x:1,a'", "malformed");
        run("config", "--framework", "torch", "-m", "model:build", "--input-shape", "x:1,0", "-o", out)
                .oneError(2, "positive");
        run("config", "--framework", "tensorflow", "-m", "g:build", "--input-shape", "x:1,8", "-o", out)
                .oneError(2, "--input-shape is for PyTorch");
        run("config", "--framework", "torch", "-m", "model:build", "--input-shape", "x:1,8", "-o",
                tmp.resolve("missing/c.json")).oneError(2, "does not exist", "mkdir -p");
        run("config", "--framework", "torch", "-m", "model:build", "--input-shape", "x:1,8", "--percentile", "20",
                "-o", out).oneError(2, "percentile 20.0");
        Files.writeString(out, "{}");
        run("config", "--framework", "torch", "-m", "model:build", "--input-shape", "x:1,8", "-o", out)
                .oneError(2, "refusing to overwrite existing " + out, "--force");
        assertEquals("{}", Files.readString(out), "an existing file is left alone");
        run("config", "--framework", "torch", "-m", "m:f", "--input-shape", "x:1,8", "--model-arg", "1x=2", "-o",
                tmp.resolve("other.json")).oneError(2, "--model-arg 1x=2", "Python identifier");
    }

    @Test
    void stepsCheckTheirOptionsBeforeStartingPython(@TempDir Path tmp) throws Exception {
        Path torch = Files.writeString(tmp.resolve("torch.json"), TORCH_CONFIG);
        Path tf = Files.writeString(tmp.resolve("tf.json"), TF_CONFIG);
        run("calibrate", "-c", tmp.resolve("none.json"), "-m", "m:f", "-d", "d:f").oneError(2, "does not exist");
        run("calibrate", "-c", torch, "-m", "m:f", "-d", "d:f", "--checkpoint", "x.ckpt")
                .oneError(2, "--checkpoint is for TensorFlow", "--weights");
        run("calibrate", "-c", tf, "-m", "m:f", "-d", "d:f", "--weights", "x.pth")
                .oneError(2, "--weights is for PyTorch", "--checkpoint");
        run("calibrate", "-c", tf, "--framework", "torch", "-m", "m:f", "-d", "d:f")
                .oneError(2, "TensorFlow config", "--framework torch");
        run("calibrate", "-c", torch, "-m", "m:f", "-d", "d:f", "--batches", "-1").oneError(2, "--batches -1");
        run("train", "-c", torch, "-m", "m:f", "-t", "t:f", "--from", "q.pth", "--weights", "w.pth")
                .oneError(2, "either --from", "not both");
        run("train", "-c", torch, "-m", "m:f", "-t", "t:f", "--report", tmp).oneError(2, "--report needs --data");
        run("export", "-c", torch, "-m", "m:f", "--from", "q.pth", "--name", "my-model").oneError(2, "--name 'my-model'");
        run("report", "-c", torch, "-m", "m:f", "--from", "q.pth").oneError(2, "--data");
    }

    @Test
    void inspectDescribesConfigsAndTellsFilesByContent(@TempDir Path tmp) throws Exception {
        // No .json extension: the content decides.
        Path torch = Files.writeString(tmp.resolve("my_config.txt"), TORCH_CONFIG);
        var r = run("inspect", torch).expect(0);
        assertTrue(r.out().contains("PyTorch quantization config, 2 layers, 1 quantized"), r.out());
        assertTrue(r.out().contains("input_shape  x:1,1,8,8"), r.out());
        assertTrue(r.out().contains("calibration  percentile (percentile 99.90, bins 2048)"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+conv1/Conv2D\\s+nn\\.Conv2d\\s+Quant_INT8-8")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+fc/MatMul\\s+nn\\.Linear\\s+float")), r.out());

        Path tf = Files.writeString(tmp.resolve("tf_config"), TF_CONFIG.replace("\"float\"", "\"Quant_INT4-4\""));
        var bad = run("inspect", tf);
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.out().contains("TensorFlow quantization config") && bad.out().contains("(unsupported;"), bad.out());
        assertTrue(bad.err().startsWith("error: layer 'fc/MatMul'") && bad.err().contains("Quant_INT4-4"), bad.err());

        Path junk = Files.write(tmp.resolve("model.onnx"), "not a model at all".getBytes(StandardCharsets.UTF_8));
        run("inspect", junk).oneError(2, "is not an ONNX model, a parameter file or a config");
        Path json = Files.writeString(tmp.resolve("other.json"), "{\"a\": 1}");
        run("inspect", json).oneError(2, "neither a config", "nor a parameter file");
        run("inspect", tmp.resolve("missing.onnx")).oneError(2, "does not exist");
        run("inspect").oneError(2, "FILE");
    }
}
