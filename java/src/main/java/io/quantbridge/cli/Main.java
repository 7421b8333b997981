package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of {@code ./quantbridge}. */
@Command(name = "quantbridge", mixinStandardHelpOptions = true, version = "QuantBridge 0.1.0",
        description = "Quantize existing PyTorch and TensorFlow models from Java.",
        subcommands = {DoctorCommand.class, DemoCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:a check failed (doctor, demo thresholds)",
                "2:bad input (config, path, arguments)", "3:error in Python code (yours or the model's)",
                "4:environment problem (run ./quantbridge setup)"})
public final class Main {
    /** Exit code for bad input. */
    public static final int EXIT_INPUT = 2;
    /** Exit code for a Python error. */
    public static final int EXIT_PYTHON = 3;
    /** Exit code for an environment problem. */
    public static final int EXIT_ENV = 4;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print Python tracebacks.")
    boolean verbose;

    private Main() {
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static CommandLine commandLine() {
        Main app = new Main();
        CommandLine cl = new CommandLine(app);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            boolean verbose = app.verbose;
            if (ex instanceof PythonException p) {
                line.getErr().println("error: " + p.getMessage());
                if (verbose) {
                    line.getErr().println(p.pythonTraceback());
                } else {
                    line.getErr().println("(run with --verbose for the Python traceback)");
                }
                return isInputError(p) ? EXIT_INPUT : EXIT_PYTHON;
            }
            if (ex instanceof QuantBridgeException || ex instanceof IllegalArgumentException) {
                line.getErr().println("error: " + ex.getMessage());
                if (verbose) {
                    ex.printStackTrace(line.getErr());
                }
                return ex.getMessage() != null && ex.getMessage().contains("quantbridge setup") ? EXIT_ENV : EXIT_INPUT;
            }
            throw ex;
        });
        return cl;
    }

    private static boolean isInputError(PythonException p) {
        return p.isType("ConfigError") || p.isType("PathError") || p.isType("ModelError") || p.isType("CheckpointError");
    }
}
