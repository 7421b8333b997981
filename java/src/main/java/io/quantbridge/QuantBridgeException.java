package io.quantbridge;

/**
 * The one checked exception of QuantBridge: something the user can fix went wrong
 * (bad config, bad path, a Python error in user code, a missing environment).
 * Programming errors use {@link IllegalArgumentException} and {@link IllegalStateException}.
 */
public class QuantBridgeException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with a message that says what was expected and what arrived. */
    public QuantBridgeException(String message) {
        super(message);
    }

    /** Creates an exception that keeps its cause. */
    public QuantBridgeException(String message, Throwable cause) {
        super(message, cause);
    }
}
