package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.PythonException;
import io.quantbridge.service.WorkerFailedException;

/** Assertions on worker failures shared by the fault tests. */
final class QuantBridgeExceptionCheck {
    private QuantBridgeExceptionCheck() {
    }

    /**
     * The job whose code called {@code os._exit(7)} failed with an error that says so: the
     * worker's exit with its code, or the exception the runtime raises instead of exiting.
     */
    static void exitNamed(Throwable e) {
        if (e instanceof WorkerFailedException w) {
            assertTrue(w.reason() == WorkerFailedException.Reason.EXITED, w.reason() + ": " + w.getMessage());
            assertTrue(w.getMessage().contains("exited with code 7") && w.getMessage().contains("os._exit"), w.getMessage());
        } else {
            assertTrue(e instanceof PythonException && e.getMessage().contains("_exit"), String.valueOf(e));
        }
    }
}
