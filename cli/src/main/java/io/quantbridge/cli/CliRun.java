package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.dist.Ranks;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.StepResult;
import io.quantbridge.project.Workflow;
import io.quantbridge.runtime.PythonRuntime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Model.CommandSpec;

/** Runs one workflow step with progress output, and prints what it produced. */
final class CliRun {
    /** One step on an open workflow. */
    @FunctionalInterface
    interface Step<T> {
        T run(Workflow workflow, PythonRuntime rt) throws QuantBridgeException;
    }

    private CliRun() {
    }

    /** Opens the runtime and the workflow for {@code project}, runs {@code step}, closes the progress bars. */
    static <T> T run(CommandSpec spec, ProjectSpec project, Step<T> step) throws QuantBridgeException {
        return run(spec, project, null, List.of(), step);
    }

    /**
     * As {@link #run(CommandSpec, ProjectSpec, Step)}, checking the {@code outputs} against the
     * vendor's path rule first when {@code --vendor-names} asks for it.
     */
    static <T> T run(CommandSpec spec, ProjectSpec project, VendorNamesOption vendorNames, List<Path> outputs,
                     Step<T> step) throws QuantBridgeException {
        PrintWriter out = spec.commandLine().getOut();
        try (PythonRuntime rt = PythonRuntime.open(); ConsoleProgress progress = new ConsoleProgress(out)) {
            Interrupts.reinstall();
            if (vendorNames != null) {
                vendorNames.check(rt, outputs);
            }
            Ranks.init(rt);                  // a rank of a distributed job: join the process group
            try {
                return step.run(Workflow.open(rt, project, Ranks.progress(progress)), rt);
            } finally {
                Ranks.shutdown(rt);
            }
        }
    }

    /**
     * Prints the command's one-line {@code summary}, then what {@link #print} prints.
     *
     * @return the exit code, 0
     */
    static int done(CommandSpec spec, StepResult r, String evalFunction, String summary) {
        spec.commandLine().getOut().println(summary);
        print(spec, r, evalFunction);
        return 0;
    }

    /** Prints the accuracy line (if measured), the training function's result (if any) and the files. */
    static void print(CommandSpec spec, StepResult r, String evalFunction) {
        PrintWriter out = spec.commandLine().getOut();
        if (r.trainResult() != null) {
            out.println("training returned " + describe(r.trainResult()));
        }
        if (r.floatAccuracy() != null || r.quantAccuracy() != null) {
            StringBuilder sb = new StringBuilder("accuracy (" + evalFunction + "):");
            if (r.floatAccuracy() != null) {
                sb.append(String.format(Locale.ROOT, " float %.2f", r.floatAccuracy()));
            }
            if (r.quantAccuracy() != null) {
                sb.append(r.floatAccuracy() != null ? "," : "")
                        .append(String.format(Locale.ROOT, " quantized %.2f", r.quantAccuracy()));
            }
            out.println(sb);
        }
        for (Path p : r.files()) {
            out.println("wrote " + p);
        }
        for (var check : r.deployed()) {
            out.println(check.describe());
        }
        out.flush();
    }

    /**
     * The float weights option that fits {@code fw}: {@code --weights} (PyTorch .pth) or
     * {@code --checkpoint} (TensorFlow prefix).
     *
     * @throws IllegalArgumentException if the other framework's option was given
     */
    static Path floatWeights(Framework fw, Path weights, Path checkpoint) {
        if (fw == Framework.TORCH) {
            if (checkpoint != null) {
                throw new IllegalArgumentException("--checkpoint is for TensorFlow checkpoints; for a PyTorch model pass "
                        + "the float state_dict with --weights FILE.pth (or let your factory load it)");
            }
            return weights;
        }
        if (weights != null) {
            throw new IllegalArgumentException("--weights is for PyTorch .pth files; for a TensorFlow model pass the "
                    + "float checkpoint with --checkpoint PREFIX");
        }
        return checkpoint;
    }

    private static String describe(Object value) {
        if (value instanceof Map<?, ?> m) {
            return m.entrySet().stream().map(e -> e.getKey() + "=" + format(e.getValue())).collect(Collectors.joining(", "));
        }
        String s = format(value);
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    private static String format(Object v) {
        return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
    }
}
