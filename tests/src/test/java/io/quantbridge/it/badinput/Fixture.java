package io.quantbridge.it.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quantbridge.cli.Main;
import io.quantbridge.runtime.PythonRuntime;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The user's files the bad-input cases run against, made once: float weights and checkpoints
 * from the example projects, configs and calibrated states made by the command line itself, and
 * every damaged, foreign, non-finite and malicious state file ({@code qb_badinput.py}).
 * Everything lives under {@link #root}, which each case snapshots.
 */
final class Fixture {
    static final Path HOME = home();
    static final Path TORCH_PROJECT = HOME.resolve("tests/projects/torch_project");
    static final Path TF_PROJECT = HOME.resolve("tests/projects/tf_project");
    static final Path BAD_PROJECT = HOME.resolve("tests/projects/bad_project");
    static final String TORCH_PATH = BAD_PROJECT + ":" + TORCH_PROJECT;
    static final String TF_PATH = BAD_PROJECT + ":" + TF_PROJECT;
    static final String MODEL = "digitsnet.model:build_model";
    static final String DATA = "digitsnet.data:calibration_batches";
    static final String TRAIN = "digitsnet.train:train";
    static final String EVAL = "digitsnet.train:evaluate";
    static final String GRAPH = "digitsgraph.graph:build_graph";
    static final String TF_DATA = "digitsgraph.data:calibration_batches";
    static final String TF_TRAIN = "digitsgraph.train:train";
    static final String TF_EVAL = "digitsgraph.train:evaluate";
    static final String BAD = "badproj.torch_fns:";
    static final String TF_BAD = "badproj.tf_fns:";

    final Path root;
    final Path work;
    final Path out;
    final Path files;
    final Path floatPth;
    final Path config;
    final Path floatConfig;
    final Path quantPth;
    final Path tfConfig;
    final Path floatCkpt;
    final Path quantCkpt;
    final Path nanCkpt;
    final Path nanQuantCkpt;
    final Map<String, Path> stateFiles = new TreeMap<>();

    Fixture(Path root) throws Exception {
        this.root = root;
        work = Files.createDirectories(root.resolve("work"));
        out = Files.createDirectories(root.resolve("out"));
        files = Files.createDirectories(root.resolve("files"));
        floatPth = work.resolve("float.pth");
        config = work.resolve("config.json");
        floatConfig = work.resolve("config_float.json");
        quantPth = work.resolve("quant.pth");
        tfConfig = work.resolve("tf_config.json");
        floatCkpt = work.resolve("float.ckpt");
        quantCkpt = work.resolve("quant.ckpt");
        nanCkpt = files.resolve("nan_float.ckpt");
        nanQuantCkpt = files.resolve("nan_quant.ckpt");
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(HOME.resolve("tests/src/test/python"), BAD_PROJECT, TORCH_PROJECT, TF_PROJECT);
            rt.call("digitsnet.train:create_float_weights", List.of(floatPth.toString()), Map.of("epochs", 1), null);
            rt.call("digitsgraph.train:create_float_checkpoint", List.of(floatCkpt.toString()), Map.of("epochs", 1), null);
        }
        cli("config", "--framework", "torch", "-P", TORCH_PATH, "-m", MODEL, "--input-shape", "x:1,1,8,8",
                "--quantize-all", "-o", config);
        cli("config", "--framework", "torch", "-P", TORCH_PATH, "-m", MODEL, "--input-shape", "x:1,1,8,8",
                "-o", floatConfig);
        cli("calibrate", "-c", config, "-P", TORCH_PATH, "-m", MODEL, "--weights", floatPth, "-d", DATA,
                "-n", 2, "-o", quantPth);
        cli("config", "--framework", "tensorflow", "-P", TF_PATH, "-m", GRAPH, "--quantize-all", "-o", tfConfig);
        cli("calibrate", "-c", tfConfig, "-P", TF_PATH, "-m", GRAPH, "--checkpoint", floatCkpt, "-d", TF_DATA,
                "-n", 2, "-o", quantCkpt);
        try (PythonRuntime rt = PythonRuntime.open()) {
            Map<?, ?> made = (Map<?, ?>) rt.call("qb_badinput:make_state_files", files.toString(), floatPth.toString(),
                    quantPth.toString(), root.toString());
            made.forEach((k, v) -> stateFiles.put(String.valueOf(k), Path.of(String.valueOf(v))));
            rt.call("badproj.tf_fns:nan_checkpoint", nanCkpt.toString());
            rt.call("badproj.tf_fns:nan_copy_of_checkpoint", quantCkpt.toString(), nanQuantCkpt.toString());
        }
    }

    /** Runs a command that must succeed (making the fixture). */
    static void cli(Object... args) {
        Result r = run(Case.line(args));
        assertEquals(0, r.code(), () -> "fixture command " + List.of(args) + " failed:\n" + r.out() + r.err());
    }

    /** The exit code and what was printed. */
    record Result(int code, String out, String err) {
    }

    /** Runs {@code quantbridge args...} in-process, as the user's shell would. */
    static Result run(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args.toArray(String[]::new));
        return new Result(code, out.toString(), err.toString());
    }

    /** A state file made by {@code qb_badinput.make_state_files}. */
    Path file(String name) {
        Path p = stateFiles.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no fixture file " + name + " among " + stateFiles.keySet());
        }
        return p;
    }

    private static Path home() {
        String home = System.getProperty("quantbridge.home");
        return home == null ? Path.of("..").toAbsolutePath().normalize() : Path.of(home);
    }
}
