package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export -d DATA}: the deployed file itself (INT8 ONNX in ONNX Runtime from Java, frozen
 * .pb in a fresh TensorFlow graph) runs on the user's batches and is compared with the quantized
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
    void theFrozenGraphRunsAndAgrees() throws Exception {
        Path out = Files.createDirectory(dir.resolve("tf_out"));
        var r = CliHarness.run("export", "-c", dir.resolve("tf_config.json"), "-P", CliHarness.TF_PROJECT, "-m",
                FaultProjects.TF_GRAPH, "--from", dir.resolve("quant.ckpt"), "-o", out, "-d", FaultProjects.TF_DATA,
                "-n", 4).expect(0);
        System.out.println("quantbridge digits " + r.out().lines().filter(l -> l.startsWith("deployed")).findFirst()
                .orElse(""));
        assertTrue(r.out().contains("deployed model.pb (frozen graph, TensorFlow)"), r.out());
        assertTrue(agreement(r.out(), 4 * 32) >= 99.0, r.out());
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
