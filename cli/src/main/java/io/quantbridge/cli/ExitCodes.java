package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.EnvironmentException;
import io.quantbridge.runtime.PythonException;
import java.util.Set;
import picocli.CommandLine;

/**
 * The command line's exit codes (README's table, {@code --help}'s list), chosen by the type of
 * the exception that ended a command.
 *
 * <ul>
 *   <li>{@link EnvironmentException}: {@value #ENV};</li>
 *   <li>{@link PythonException}: {@value #DIVERGED} for {@code DivergedError}, {@value #INPUT} for the
 *       shim's input errors ({@code ConfigError}, {@code PathError}, {@code ModelError},
 *       {@code CheckpointError}, {@code DataError}), {@value #PYTHON} for any other Python error;</li>
 *   <li>any other {@link QuantBridgeException}, {@link IllegalArgumentException} and a bad
 *       argument ({@link CommandLine.ParameterException}): {@value #INPUT};</li>
 *   <li>anything else (a bug): {@value #BUG}, with picocli's stack trace.</li>
 * </ul>
 */
final class ExitCodes implements CommandLine.IExitCodeExceptionMapper {
    /** A check failed (doctor; sensitivity target not met), or an unexpected exception. */
    static final int BUG = 1;
    /** Bad input: arguments, config, paths, files, {@code module:function}. */
    static final int INPUT = 2;
    /** An error in Python code (the user's or the model's). */
    static final int PYTHON = 3;
    /** An environment problem: the message names the fix. */
    static final int ENV = 4;
    /** A step produced NaN or Inf (training diverged); nothing was written. */
    static final int DIVERGED = 5;

    private static final Set<String> INPUT_ERRORS = Set.of("ConfigError", "PathError", "ModelError",
            "CheckpointError", "DataError");

    @Override
    public int getExitCode(Throwable exception) {
        if (exception instanceof PythonException p) {
            if (p.isType("DivergedError")) {
                return DIVERGED;
            }
            return INPUT_ERRORS.stream().anyMatch(p::isType) ? INPUT : PYTHON;
        }
        if (exception instanceof EnvironmentException) {
            return ENV;
        }
        if (exception instanceof QuantBridgeException || exception instanceof IllegalArgumentException
                || exception instanceof CommandLine.ParameterException) {
            return INPUT;
        }
        return BUG;
    }
}
