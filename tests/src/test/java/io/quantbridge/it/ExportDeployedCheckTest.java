package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export -d DATA}: the deployed files themselves (the INT8 ONNX in ONNX Runtime from Java,
 * PyTorch and TensorFlow alike; TensorFlow's frozen .pb in a fresh graph too) run on the user's batches and is compared with the quantized
 * model, and scored on the batches' labels; the numbers are printed.
 */
class ExportDeployedCheckTest {
    private static final Pattern AGREES = Pattern.compile("agrees with the quantized model on ([0-9.]+)% of (\\d+) inputs");

    @TempDir
    static Path dir;

    @BeforeAll
    static void projects() throws Exception {
        FaultProjects.torch(dir);
        FaultProjects.tensorflow(dir);
    }

    private static double agreement(String out, long inputs) {
        Matcher m = AGREES.matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(2)) == inputs, out);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void theInt8OnnxRunsInOnnxRuntimeAndAgrees() throws Exception {
        Path out = Files.createDirectory(dir.resolve("torch_out"));
        var r = CliHarness.run("export", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m",
                FaultProjects.TORCH_MODEL, "--from", dir.resolve("quant.pth"), "-o", out, "-d", FaultProjects.TORCH_DATA,
                "--data-arg", "num_batches=4").expect(0);
        System.out.println("quantbridge digits " + r.out().lines().filter(l -> l.startsWith("deployed")).findFirst()
                .orElse(""));
        assertTrue(r.out().contains("deployed model_int8.onnx (ONNX Runtime, Java)"), r.out());
        assertTrue(agreement(r.out(), 128) >= 99.0, r.out());
        assertTrue(r.out().contains("against the batches' labels"), r.out());
    }

    @Test
    void theTensorflowInt8OnnxAndTheFrozenGraphRunAndAgree() throws Exception {
        Path out = Files.createDirectory(dir.resolve("tf_out"));
        var r = CliHarness.run("export", "-c", dir.resolve("tf_config.json"), "-P", CliHarness.TF_PROJECT, "-m",
                FaultProjects.TF_GRAPH, "--from", dir.resolve("quant.ckpt"), "-o", out, "-d", FaultProjects.TF_DATA,
                "-n", 4).expect(0);
        List<String> lines = r.out().lines().filter(l -> l.startsWith("deployed")).toList();
        lines.forEach(l -> System.out.println("quantbridge digits tf " + l));
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("deployed model_int8.onnx (ONNX Runtime, Java)"), r.out());
        assertTrue(lines.get(1).startsWith("deployed model.pb (frozen graph, TensorFlow)"), r.out());
        for (String line : lines) {
            assertTrue(agreement(line, 4 * 32) >= 99.0, r.out());
        }
    }

    @Test
    void aMissingDataFunctionIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path out = Files.createDirectory(dir.resolve("none_out"));
        CliHarness.run("export", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m",
                FaultProjects.TORCH_MODEL, "--from", dir.resolve("quant.pth"), "-o", out, "-d", "digitsnet.data:nope")
                .oneError(2, "--data", "nope");
        assertTrue(FaultProcess.names(out).isEmpty());
    }
}
