package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.cli.Main;
import io.quantbridge.config.LayerEntry;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.sensitivity.LayerSensitivity;
import io.quantbridge.sensitivity.SensitivityAnalyzer;
import io.quantbridge.sensitivity.SensitivityResult;
import io.quantbridge.sensitivity.Target;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Automatic mixed precision through the real runtime, on {@code qb_fragile}: an MLP whose middle
 * layer's input has one channel 1000x larger than the rest, so min-max int8 calibration of that
 * layer destroys the model while the other layers quantize fine.
 */
class SensitivityTest {
    private static final String FRAGILE = "fc2/MatMul";
    private static final String MODEL = "qb_fragile:build_model";
    private static final String DATA = "qb_fragile:calibration_batches";
    private static final String EVAL = "qb_fragile:evaluate";
    private static final String INT8 = "Quant_INT8-8";
    private static final String PYTHON = Runtimes.home().resolve("tests/src/test/python").toString();

    @TempDir
    Path tmp;

    @Test
    void theFragileLayerIsKeptInFloatAndTheConfigRoundTrips() throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of(MODEL));
            QuantConfig start;
            SensitivityResult r;
            try (PyHandle model = q.newFloatModel()) {
                start = q.generateConfig(model, "x:1,64");
                start.quantizeAll(INT8);
                try (QuantModel qm = q.optimize(model, start)) {
                    qm.calibrate(DATA, Map.of(), 0, null);
                    r = SensitivityAnalyzer.forTorch(q, qm, DATA, EVAL, Target.maxDrop(0.5));
                    assertTrue(qm.config().layers().stream().allMatch(LayerEntry::isQuantized), "input config changed");
                }
            }
            System.out.print(r.table());
            assertEquals("torch", r.framework());
            assertEquals(List.of("fc1/MatMul", FRAGILE, "fc3/MatMul"),
                    r.layers().stream().map(LayerSensitivity::name).toList());
            assertEquals(List.of(FRAGILE), r.floatLayers());
            assertTrue(r.targetMet(), r.note());
            assertEquals(FRAGILE, r.worstFirst().get(0).name());
            assertTrue(r.quantizedBaseline().eval() < 50.0, "all int8 should be destroyed: " + r.quantizedBaseline());
            assertTrue(r.floatBaseline().eval() - r.chosen().eval() <= 0.5, r.chosen().format());
            assertTrue(Double.isInfinite(r.floatBaseline().sqnrDb()));
            assertTrue(r.table().contains(FRAGILE) && r.table().contains(": met"), r.table());

            assertEquals("float", r.config().layer(FRAGILE).orElseThrow().strategy());
            assertEquals(INT8, r.config().layer("fc1/MatMul").orElseThrow().strategy());
            assertEquals(INT8, r.config().layer("fc3/MatMul").orElseThrow().strategy());
            assertEquals(start.inputShape(), r.config().inputShape());

            Path written = r.config().write(tmp.resolve("mixed.json"), false);
            QuantConfig back = QuantConfig.read(written);
            assertEquals(r.config().toJson(), back.toJson());
            assertEquals(Files.readString(written), back.toJson());
            // The written config drives a new quant model: only fc1 and fc3 are quantized there.
            try (PyHandle fresh = q.newFloatModel(); QuantModel qm2 = q.optimize(fresh, back)) {
                qm2.calibrate(DATA, Map.of(), 0, null);
                List<String> quantized = qm2.params().layers().stream()
                        .filter(l -> l.isQuantized()).map(l -> l.name()).toList();
                assertEquals(List.of("fc1/MatMul", "fc3/MatMul"), quantized);
            }
        }
    }

    @Test
    void theCommandTakesTheProjectCommandsOptionsAndErrors() throws Exception {
        Path config = tmp.resolve("start.json");
        try (PythonRuntime rt = Runtimes.open()) {
            TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of(MODEL));
            try (PyHandle model = q.newFloatModel()) {
                QuantConfig cfg = q.generateConfig(model, "x:1,64");
                cfg.quantizeAll(INT8);
                cfg.write(config, false);
            }
        }
        Path out = tmp.resolve("mixed.json");
        // -P with ':' as in the project commands; the evaluation returns {"accuracy": ..., ...}.
        String[] args = {"sensitivity", "-c", config.toString(), "-P", PYTHON + ":" + tmp, "-m", MODEL, "-d", DATA,
            "--data-arg", "num_batches=3", "-n", "2", "--eval", "qb_fragile:evaluate_dict", "--max-drop", "0.5",
            "-o", out.toString()};
        Run first = run(args);
        assertEquals(0, first.code, first.out + first.err);
        assertTrue(first.out.contains("float layers: [" + FRAGILE + "] (1 of 3)"), first.out);
        assertTrue(first.out.contains("accuracy (qb_fragile:evaluate_dict): float "), first.out);
        assertTrue(first.out.contains("wrote " + out), first.out);
        assertEquals(FRAGILE, firstTableRow(first.out));
        QuantConfig written = QuantConfig.read(out);
        assertEquals("float", written.layer(FRAGILE).orElseThrow().strategy());
        assertEquals(2, written.layers().stream().filter(LayerEntry::isQuantized).count());

        String before = Files.readString(out);
        oneError(run(args), Main.EXIT_INPUT, "refusing to overwrite existing " + out, "--force");
        assertEquals(before, Files.readString(out));

        Path other = tmp.resolve("other.json");
        String[] base = {"sensitivity", "-c", config.toString(), "-P", PYTHON, "-m", MODEL, "-o", other.toString()};
        oneError(run(with(base, "-d", DATA, "--max-drop", "0.5")), Main.EXIT_INPUT, "--max-drop", "--eval");
        Path spaced = tmp.resolve("mixed config.json");
        oneError(run(with(new String[] {"sensitivity", "-c", config.toString(), "-P", PYTHON, "-m", MODEL, "-o",
                spaced.toString()}, "-d", DATA, "--min-sqnr", "25", "--vendor-names")), Main.EXIT_INPUT,
                "file name 'mixed config.json'", "vendor's path rule");
        assertFalse(Files.exists(spaced));
        oneError(run(with(base, "-d", DATA, "--min-sqnr", "25", "--checkpoint", "x.ckpt")), Main.EXIT_INPUT,
                "--checkpoint is for TensorFlow", "--weights");
        oneError(run(with(base, "-d", DATA, "--min-sqnr", "25", "--weights", tmp.resolve("none.pth").toString())),
                Main.EXIT_INPUT, "--weights", "does not exist");
        oneError(run(with(base, "-d", DATA, "--min-sqnr", "25", "-n", "-1")), Main.EXIT_INPUT, "--batches -1");
        oneError(run(with(base, "-d", DATA, "--min-sqnr", "25", "--framework", "tensorflow")), Main.EXIT_INPUT,
                "PyTorch config", "--framework tensorflow");
        oneError(run(with(base, "-d", DATA, "--min-sqnr", "25", "--max-drop", "1")), Main.EXIT_INPUT,
                "mutually exclusive");
        oneError(run(with(base, "-d", "qb_fragile.calibration_batches", "--min-sqnr", "25")), Main.EXIT_INPUT,
                "':' between the module and the function is missing");
        oneError(run(with(base, "-d", "qb_fragile.nope:batches", "--min-sqnr", "25")), Main.EXIT_INPUT,
                "--data 'qb_fragile.nope:batches'", "the module part 'qb_fragile.nope' was not found");
        oneError(run(with(base, "-d", DATA, "--eval", "qb_fragile:evaluat", "--max-drop", "1")), Main.EXIT_INPUT,
                "--eval 'qb_fragile:evaluat'", "the function part 'evaluat' was not found");
        // An error raised in the user's code: exit 3.
        oneError(run(with(base, "-d", DATA, "--data-arg", "batch_size=oops", "--min-sqnr", "25")), Main.EXIT_PYTHON,
                "--verbose");
        assertFalse(Files.exists(other));
    }

    @Test
    void tensorflowKeepsTheSameLayerInFloat() throws Exception {
        Path ckpt;
        QuantConfig start;
        SensitivityResult r;
        try (PythonRuntime rt = Runtimes.open()) {
            Object prefix = rt.call("qb_fragile:save_tf_checkpoint", tmp.resolve("float.ckpt").toString());
            ckpt = Path.of(String.valueOf(prefix));
            TfQuantizer q = new TfQuantizer(rt, new TfProject(List.of(), "qb_fragile:build_tf_graph", Map.of(), "x:0",
                    List.of("logits")));
            start = q.generateConfig();
            start.quantizeAll(INT8);
            r = SensitivityAnalyzer.forTf(q, start, ckpt, "qb_fragile:tf_batches", Map.of("num_batches", 3),
                    "qb_fragile:tf_evaluate", Target.maxDrop(0.5), 0, 2, null);
        }
        System.out.print(r.table());
        assertEquals("tensorflow", r.framework());
        assertEquals(3, r.batches());
        assertEquals(List.of(FRAGILE), r.floatLayers());
        assertTrue(r.targetMet(), r.note());
        assertTrue(r.quantizedBaseline().eval() < 50.0, r.quantizedBaseline().format());
        assertTrue(r.floatBaseline().eval() > 90.0, "quant_flag=0 is the float path: " + r.floatBaseline().format());
        assertEquals("float", r.config().layer(FRAGILE).orElseThrow().strategy());
        assertEquals(INT8, start.layer(FRAGILE).orElseThrow().strategy());

        // The command: input and output names from the builder's dict; the checkpoint's .index file works too.
        Path config = start.write(tmp.resolve("tf_start.json"), false);
        Path out = tmp.resolve("tf_mixed.json");
        String[] base = {"sensitivity", "-c", config.toString(), "-P", PYTHON, "--graph", "qb_fragile:build_tf_graph",
            "-d", "qb_fragile:tf_batches", "--min-sqnr", "25", "-o", out.toString()};
        Run cli = run(with(base, "--checkpoint", ckpt + ".index", "--eval", "qb_fragile:tf_evaluate"));
        assertEquals(0, cli.code, cli.out + cli.err);
        assertTrue(cli.out.contains("accuracy (qb_fragile:tf_evaluate): float "), cli.out);
        QuantConfig mixed = QuantConfig.read(out);
        assertEquals("float", mixed.layer(FRAGILE).orElseThrow().strategy());
        assertEquals(r.config().toJson(), mixed.toJson());

        Path other = tmp.resolve("tf_other.json");
        String[] base2 = {"sensitivity", "-c", config.toString(), "-P", PYTHON, "-m", "qb_fragile:build_tf_graph",
            "-d", "qb_fragile:tf_batches", "--min-sqnr", "25", "-o", other.toString()};
        oneError(run(base2), Main.EXIT_INPUT, "needs the float weights", "--checkpoint PREFIX");
        oneError(run(with(base2, "--weights", "float.pth")), Main.EXIT_INPUT, "--weights is for PyTorch");
        oneError(run(with(base2, "--checkpoint", tmp.resolve("none.ckpt").toString())), Main.EXIT_INPUT,
                "no TensorFlow checkpoint there");
        oneError(run(with(base2, "--checkpoint", ckpt.toString(), "--output-name", "nope")), Main.EXIT_INPUT,
                "output node 'nope' is not in the graph");
        assertFalse(Files.exists(other));
    }

    @Test
    void targetsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new Target(null, null));
        assertThrows(IllegalArgumentException.class, () -> new Target(1.0, 30.0));
        assertThrows(IllegalArgumentException.class, () -> Target.maxDrop(-0.1));
        assertThrows(IllegalArgumentException.class, () -> Target.minSqnrDb(Double.NaN));
        assertEquals(Map.of("max_drop", 0.5), Target.maxDrop(0.5).toMap());
        assertEquals(Map.of("min_sqnr_db", 30.0), Target.minSqnrDb(30).toMap());
        assertTrue(Target.maxDrop(0.5).needsEval());
    }

    private static String firstTableRow(String out) {
        String[] lines = out.split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("layer ")) {
                return lines[i + 2].split("\\s+")[0];
            }
        }
        return "";
    }

    private record Run(int code, String out, String err) { }

    private static String[] with(String[] base, String... more) {
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Exit {@code code} with one line {@code error: ...} on stderr holding every {@code part}. */
    private static void oneError(Run r, int code, String... parts) {
        assertEquals(code, r.code, r.out + r.err);
        List<String> lines = r.err.lines().toList();
        assertEquals(1, lines.size(), r.err);
        assertTrue(lines.get(0).startsWith("error: "), r.err);
        for (String part : parts) {
            assertTrue(lines.get(0).contains(part), () -> "'" + part + "' missing from: " + r.err);
        }
    }

    private static Run run(String[] args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }
}
