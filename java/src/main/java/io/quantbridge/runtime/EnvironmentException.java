package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;

/**
 * The Python environment is missing, incomplete or mismatched (no venv, no jep native library,
 * a jep version mismatch, a bridge that does not load); the message names the fix
 * ({@link Setup#advice()}). The command line exits with its environment code (4).
 */
public class EnvironmentException extends QuantBridgeException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception whose message says what is missing and how to make it. */
    public EnvironmentException(String message) {
        super(message);
    }

    /** Creates an exception that keeps its cause. */
    public EnvironmentException(String message, Throwable cause) {
        super(message, cause);
    }
}
