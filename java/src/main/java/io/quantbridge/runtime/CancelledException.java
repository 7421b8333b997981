package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;

/**
 * A Python call (or a job) was stopped before it finished: {@code Future.cancel}, an interrupt, a
 * timeout, or a progress listener that asked to stop or threw. The interpreter is free again
 * when this is thrown. A listener's own exception is the cause.
 */
public class CancelledException extends QuantBridgeException {
    private static final long serialVersionUID = 1L;

    /** @param cause the listener's exception, or null */
    public CancelledException(String message, Throwable cause) {
        super(message, cause);
    }
}
