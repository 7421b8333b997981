package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The example user projects made ready for the fault tests in a directory that plays the user's
 * working directory: float weights, a config with every layer quantized and a calibrated state,
 * made through the command line in-process.
 */
final class FaultProjects {
    static final String TORCH_MODEL = "digitsnet.model:build_model";
    static final String TORCH_DATA = "digitsnet.data:calibration_batches";
    static final String TORCH_TRAIN = "digitsnet.train:train";
    static final String TORCH_EVAL = "digitsnet.train:evaluate";
    static final String TF_GRAPH = "digitsgraph.graph:build_graph";
    static final String TF_DATA = "digitsgraph.data:calibration_batches";
    static final String TF_TRAIN = "digitsgraph.train:train";

    private FaultProjects() {
    }

    /** {@code dir}/float.pth, config_gen.json and quant.pth of the PyTorch project. */
    static void torch(Path dir) throws Exception {
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(CliHarness.TORCH_PROJECT);
            double acc = ((Number) rt.call("digitsnet.train:create_float_weights",
                    List.of(dir.resolve("float.pth").toString()), Map.of("epochs", 1), null)).doubleValue();
            assertTrue(acc > 50, "float accuracy " + acc);
        }
        CliHarness.run("config", "--framework", "torch", "-P", CliHarness.TORCH_PROJECT, "-m", TORCH_MODEL,
                "--input-shape", "x:1,1,8,8", "--quantize-all", "-o", dir.resolve("config_gen.json")).expect(0);
        CliHarness.run("calibrate", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m", TORCH_MODEL,
                "--weights", dir.resolve("float.pth"), "-d", TORCH_DATA, "-n", 2, "-o", dir.resolve("quant.pth")).expect(0);
    }

    /** {@code dir}/float.ckpt, tf_config.json and quant.ckpt of the TensorFlow project. */
    static void tensorflow(Path dir) throws Exception {
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(CliHarness.TF_PROJECT);
            rt.call("digitsgraph.train:create_float_checkpoint", List.of(dir.resolve("float.ckpt").toString()),
                    Map.of("epochs", 1), null);
        }
        CliHarness.run("config", "--framework", "tensorflow", "-P", CliHarness.TF_PROJECT, "-m", TF_GRAPH,
                "--quantize-all", "-o", dir.resolve("tf_config.json")).expect(0);
        CliHarness.run("calibrate", "-c", dir.resolve("tf_config.json"), "-P", CliHarness.TF_PROJECT, "-m", TF_GRAPH,
                "--checkpoint", dir.resolve("float.ckpt"), "-d", TF_DATA, "-n", 2, "-o", dir.resolve("quant.ckpt")).expect(0);
    }
}
