package io.quantbridge.runtime;

/**
 * Thrown by a {@link ProgressListener} to stop the call it observes: the Python code raises
 * {@code quantbridge.errors.Cancelled} at this event, the user's loop unwinds, and the Java call
 * throws {@link CancelledException} with this reason. Any other exception thrown by a listener
 * also stops the call, and becomes the cause of the {@link CancelledException}.
 */
public final class StopRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param reason why the listener stops the call */
    public StopRequest(String reason) {
        super(reason, null, false, false);
    }
}
