package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of {@code ./quantbridge}. */
@Command(name = "quantbridge", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Quantize existing PyTorch and TensorFlow models from Java, with your own model, data, "
                + "training and evaluation functions.",
        subcommands = {
                ConfigCommand.class, CalibrateCommand.class, TrainCommand.class, ExportCommand.class,
                InspectCommand.class, ReportCommand.class, SensitivityCommand.class,
                DoctorCommand.class, DemoCommand.class, BenchCommand.class},
        footerHeading = "%nLauncher commands (./quantbridge only):%n",
        footer = {"  setup    Create .venv (the pinned Python stack), build jep and the Java side.",
                "  test     Run every test: Maven verify (JUnit and pytest)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:a check failed (doctor; sensitivity target not met)",
                "2:bad input (arguments, config, paths, files, module:function)",
                "3:error in Python code (yours or the model's)",
                "4:environment problem (run ./quantbridge setup)",
                "5:NaN or Inf produced (training diverged); nothing written",
                "130:interrupted (Ctrl-C)",
                "134:crashed in native code (the launcher names the crash log)",
                "143:terminated (SIGTERM)"})
public final class Main {
    /** Exit code for bad input. */
    public static final int EXIT_INPUT = ExitCodes.INPUT;
    /** Exit code for a Python error. */
    public static final int EXIT_PYTHON = ExitCodes.PYTHON;
    /** Exit code for an environment problem. */
    public static final int EXIT_ENV = ExitCodes.ENV;
    /** Exit code for a step that produced NaN or Inf (training diverged); nothing was written. */
    public static final int EXIT_DIVERGED = ExitCodes.DIVERGED;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "On errors, print the Python traceback (and the Java stack trace).")
    boolean verbose;

    private Main() {
    }

    /** {@code --version}: QuantBridge's build version. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"QuantBridge " + io.quantbridge.Version.current()};
        }
    }

    /** Runs the command line and exits with its code; Ctrl-C ends it with 130 ({@link Interrupts}). */
    public static void main(String[] args) {
        CliLogging.configure(args);
        Interrupts.install();
        int code = commandLine().execute(args);
        // A step that failed because Ctrl-C removed its files: the interrupt handler ends the process.
        Interrupts.awaitStopIfStopping();
        System.exit(code);
    }

    /** The configured command line (also used by tests). */
    public static CommandLine commandLine() {
        Main app = new Main();
        CommandLine cl = new CommandLine(app);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        ExitCodes exitCodes = new ExitCodes();
        cl.setExitCodeExceptionMapper(exitCodes);
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("error: " + ex.getMessage() + " (see '" + c.getCommandSpec().qualifiedName()
                    + " --help')");
            c.getErr().flush();
            return exitCodes.getExitCode(ex);
        });
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            if (Interrupts.stopping()) {
                return Interrupts.EXIT_INTERRUPTED; // the interrupt handler prints the one line and ends the process
            }
            PrintWriter err = line.getErr();
            boolean verbose = app.verbose;
            if (ex instanceof PythonException p) {
                err.println("error: " + p.getMessage() + (verbose ? "" : " (run with --verbose for the Python traceback)"));
                if (verbose) {
                    err.println(p.pythonTraceback());
                }
                err.flush();
                return exitCodes.getExitCode(p);
            }
            if (ex instanceof QuantBridgeException || ex instanceof IllegalArgumentException) {
                err.println("error: " + ex.getMessage());
                if (verbose) {
                    ex.printStackTrace(err);
                }
                err.flush();
                return exitCodes.getExitCode(ex);
            }
            throw ex; // picocli prints the stack trace; the mapper gives 1
        });
        return cl;
    }
}
