package io.quantbridge.service;

import io.quantbridge.QuantBridgeException;

/**
 * A job's worker process ended without a result: it crashed, exited, ran past its timeout or
 * over its memory limit, or did not start. Only this job failed; the service goes on.
 */
public class WorkerFailedException extends QuantBridgeException {
    private static final long serialVersionUID = 1L;

    /** Why the worker ended. */
    public enum Reason {
        /** Killed by a signal or a fatal native error (segfault, abort) in user or library code. */
        CRASHED,
        /** The process exited with a code before sending its result ({@code os._exit}, {@code exit()}). */
        EXITED,
        /** The job ran past its timeout. */
        TIMED_OUT,
        /** The worker's resident memory went over the job's limit and it was killed. */
        MEMORY_LIMIT,
        /** The worker did not start or did not connect back. */
        START_FAILED
    }

    private final Reason reason;
    private final int exitCode;

    /**
     * @param exitCode the worker's exit status ({@code 128 + signal} when a signal ended it), or -1
     */
    public WorkerFailedException(Reason reason, int exitCode, String message) {
        super(message);
        this.reason = reason;
        this.exitCode = exitCode;
    }

    /** Why the worker ended. */
    public Reason reason() {
        return reason;
    }

    /** The worker's exit status, or -1 if it had not exited on its own. */
    public int exitCode() {
        return exitCode;
    }
}
