package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models whose inputs are not one NHWC image, through the command line on digits
 * (tests/projects/multi_input): {@code export -d} runs the INT8 ONNX in ONNX Runtime (Java), and for
 * TensorFlow the frozen .pb, on the user's batches and agrees with the quantized model; what
 * QuantBridge cannot feed is one error line (exit 2) with nothing written.
 */
class MultiInputExportTest {
    private static final Path PROJECT = Runtimes.home().resolve("tests/projects/multi_input");
    private static final String TWO = "twoinputs.tfgraph:build_graph";
    private static final String FLAT = "twoinputs.tfgraph:build_flat";
    private static final String TORCH = "twoinputs.torchmodel:build_model";
    private static final Pattern AGREES = Pattern.compile("agrees with the quantized model on ([0-9.]+)% of (\\d+) inputs");

    @TempDir
    static Path dir;

    @BeforeAll
    static void floatWeights() throws Exception {
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(PROJECT);
            for (String graph : List.of("two", "flat")) {
                double acc = ((Number) rt.call("twoinputs.tfgraph:create_float_checkpoint",
                        List.of(dir.resolve(graph + ".ckpt").toString()), Map.of("graph", graph), null)).doubleValue();
                assertTrue(acc > 80, graph + " float accuracy " + acc);
            }
            double acc = ((Number) rt.call("twoinputs.torchmodel:create_float_weights",
                    List.of(dir.resolve("float.pth").toString()), Map.of(), null)).doubleValue();
            assertTrue(acc > 80, "torch float accuracy " + acc);
        }
    }

    /** The {@code deployed ...} lines, each agreeing on at least 99 % of the 288 test inputs. */
    private static List<String> deployedAgree(CliHarness.Result r, int files) {
        List<String> lines = r.out().lines().filter(l -> l.startsWith("deployed")).toList();
        lines.forEach(l -> System.out.println("quantbridge multi-input " + l));
        assertEquals(files, lines.size(), r.out());
        for (String line : lines) {
            Matcher m = AGREES.matcher(line);
            assertTrue(m.find(), line);
            assertEquals(288, Long.parseLong(m.group(2)), line);
            assertTrue(Double.parseDouble(m.group(1)) >= 99.0, line);
            assertTrue(line.contains("against the batches' labels"), line);
        }
        return lines;
    }

    private static List<String> inputNames(Path onnx) throws Exception {
        return OnnxModels.load(onnx).getGraph().getInputList().stream().map(ValueInfoProto::getName).toList();
    }

    @Test
    void aTensorflowInputWithADefaultStaysOptionalAndTheDeployedFilesAgree() throws Exception {
        Path config = dir.resolve("two.json");
        Path out = Files.createDirectory(dir.resolve("two_out"));
        run("config", "--framework", "tensorflow", "-P", PROJECT, "-m", TWO, "--quantize-all", "-o", config).expect(0);
        run("calibrate", "-c", config, "-P", PROJECT, "-m", TWO, "--checkpoint", dir.resolve("two.ckpt"), "-d",
                "twoinputs.data:batches", "-o", dir.resolve("two_q.ckpt")).expect(0);
        var r = run("export", "-c", config, "-P", PROJECT, "-m", TWO, "--from", dir.resolve("two_q.ckpt"), "-o", out,
                "-d", "twoinputs.data:batches", "--data-arg", "split=test", "--data-arg", "num_batches=9").expect(0);
        List<String> lines = deployedAgree(r, 2);
        assertTrue(lines.get(0).startsWith("deployed model_int8.onnx (ONNX Runtime, Java)"), r.out());
        // the mask keeps its default (an initializer of the same name), named as the parameter file names inputs
        for (String file : List.of("model.onnx", "model_int8.onnx")) {
            assertEquals(List.of("images", "mask"), inputNames(out.resolve(file)), file);
            assertTrue(OnnxModels.load(out.resolve(file)).getGraph().getInitializerList().stream()
                    .anyMatch(t -> t.getName().equals("mask")), file);
        }
        assertTrue(r.err().isBlank(), r.err());
    }

    @Test
    void aTensorflowSecondInputWithoutADefaultIsOneErrorAndNothingIsWritten() throws Exception {
        Path config = dir.resolve("plain.json");
        run("config", "--framework", "tensorflow", "-P", PROJECT, "-m", TWO, "--model-arg", "mask=plain",
                "--quantize-all", "-o", config).oneError(2, "['mask']", "'images:0'", "placeholder_with_default");
        assertFalse(Files.exists(config));
        run("config", "--framework", "tensorflow", "-P", PROJECT, "-m", TWO, "--quantize-all", "-o", config).expect(0);
        Path out = Files.createDirectory(dir.resolve("plain_out"));
        run("calibrate", "-c", config, "-P", PROJECT, "-m", TWO, "--model-arg", "mask=plain", "--checkpoint",
                dir.resolve("two.ckpt"), "-d", "twoinputs.data:batches", "-o", out.resolve("q.ckpt"))
                .oneError(2, "['mask']", "placeholder_with_default");
        assertTrue(FaultProcess.names(out).isEmpty());
    }

    @Test
    void aFlatTensorflowInputWithAScopedNameAndTwoOutputsAgrees() throws Exception {
        Path config = dir.resolve("flat.json");
        Path out = Files.createDirectory(dir.resolve("flat_out"));
        Object[] names = {"--output-name", "logits", "--output-name", "probs"};
        run(concat(new Object[] {"config", "--framework", "tensorflow", "-P", PROJECT, "-m", FLAT, "--quantize-all",
            "-o", config}, names)).expect(0);
        run(concat(new Object[] {"calibrate", "-c", config, "-P", PROJECT, "-m", FLAT, "--checkpoint",
            dir.resolve("flat.ckpt"), "-d", "twoinputs.data:batches", "--data-arg", "layout=flat", "-o",
            dir.resolve("flat_q.ckpt")}, names)).expect(0);
        var r = run(concat(new Object[] {"export", "-c", config, "-P", PROJECT, "-m", FLAT, "--from",
            dir.resolve("flat_q.ckpt"), "-o", out, "-d", "twoinputs.data:batches", "--data-arg", "layout=flat",
            "--data-arg", "split=test", "--data-arg", "num_batches=9"}, names)).expect(0);
        deployedAgree(r, 2);
        assertEquals(List.of("features/pixels"), inputNames(out.resolve("model_int8.onnx")));
        assertEquals(List.of("logits", "probs"), OnnxModels.load(out.resolve("model_int8.onnx")).getGraph()
                .getOutputList().stream().map(ValueInfoProto::getName).toList());
    }

    @Test
    void aPytorchModelWithTwoInputsCalibratesAndItsInt8OnnxAgrees() throws Exception {
        Path config = dir.resolve("torch.json");
        Path out = Files.createDirectory(dir.resolve("torch_out"));
        run("config", "--framework", "torch", "-P", PROJECT, "-m", TORCH, "--input-shape", "x:1,1,8,8;flipped:1,1,8,8",
                "--quantize-all", "-o", config).expect(0);
        run("calibrate", "-c", config, "-P", PROJECT, "-m", TORCH, "--weights", dir.resolve("float.pth"), "-d",
                "twoinputs.torchmodel:batches", "--data-arg", "inputs=1", "-o", dir.resolve("one.pth"))
                .oneError(2, "batch 1 from data function twoinputs.torchmodel:batches gives 1 model input(s)",
                        "((x, flipped), targets)");
        assertFalse(Files.exists(dir.resolve("one.pth")));
        run("calibrate", "-c", config, "-P", PROJECT, "-m", TORCH, "--weights", dir.resolve("float.pth"), "-d",
                "twoinputs.torchmodel:batches", "-o", dir.resolve("quant.pth")).expect(0);
        Path bad = Files.createDirectory(dir.resolve("torch_bad"));
        run("export", "-c", config, "-P", PROJECT, "-m", TORCH, "--from", dir.resolve("quant.pth"), "-o", bad, "-d",
                "twoinputs.torchmodel:batches", "--data-arg", "inputs=1")
                .oneError(2, "batch 1 gives 1 model input(s)", "(x, flipped)");
        assertTrue(FaultProcess.names(bad).isEmpty());
        var r = run("export", "-c", config, "-P", PROJECT, "-m", TORCH, "--from", dir.resolve("quant.pth"), "-o", out,
                "-d", "twoinputs.torchmodel:batches", "--data-arg", "split=test", "--data-arg", "num_batches=9").expect(0);
        deployedAgree(r, 1);
        assertEquals(List.of("x", "flipped"), inputNames(out.resolve("model_int8.onnx")));
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
