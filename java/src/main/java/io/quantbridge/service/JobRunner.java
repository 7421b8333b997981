package io.quantbridge.service;

import io.quantbridge.QuantBridgeException;

/**
 * Runs {@link QuantJob}s: {@link InProcessRunner} in this JVM, {@link QuantBridgeService} in
 * worker JVMs. Both give the same {@link JobResult} for the same job, bit for bit.
 */
public interface JobRunner {
    /**
     * Runs {@code job} to the end on the calling thread. Interrupting the calling thread cancels it.
     *
     * @throws io.quantbridge.runtime.CancelledException if it was cancelled or its listener stopped it
     * @throws io.quantbridge.runtime.PythonException if user or shim code raised
     * @throws WorkerFailedException (service mode) if the worker crashed, timed out or ran out of memory
     * @throws QuantBridgeException for bad input (config, files) or an environment problem
     */
    JobResult run(QuantJob job, JobListener listener) throws QuantBridgeException;
}
