package io.quantbridge.service;

import io.quantbridge.runtime.ProgressEvent;

/**
 * Follows one job: its progress events and its log lines. Called from a QuantBridge thread,
 * never from the caller's; it may call into Python or the service. Returning {@code false} from
 * {@link #onProgress} stops the job at that event; an exception thrown here stops it too and
 * becomes the cause of the job's {@link io.quantbridge.runtime.CancelledException}.
 */
public interface JobListener {
    /**
     * One progress event from the job.
     *
     * @return true to go on, false to stop the job
     */
    default boolean onProgress(ProgressEvent event) {
        return true;
    }

    /**
     * One line the job's code printed or logged (Python {@code print}, {@code logging},
     * {@code warnings}, TensorFlow's native log) in service mode.
     *
     * @param stream {@code "stdout"} or {@code "stderr"} of the worker
     */
    default void onLog(String stream, String line) {
    }

    /** A listener that ignores everything. */
    JobListener NONE = new JobListener() { };
}
