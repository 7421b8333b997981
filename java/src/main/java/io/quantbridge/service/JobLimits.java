package io.quantbridge.service;

import java.time.Duration;

/**
 * The limits of one job in service mode; {@link ServiceOptions#limits()} gives the service's
 * defaults, {@link QuantBridgeService#submit(QuantJob, JobListener, JobLimits)} overrides them
 * for one job.
 *
 * @param timeout a job running longer is stopped, then killed after the service's grace period
 * @param memoryLimitBytes the worker is killed when its resident memory goes over this; 0: no limit
 * @param threads torch/OpenMP/TensorFlow compute threads; 0: the libraries' defaults
 */
public record JobLimits(Duration timeout, long memoryLimitBytes, int threads) {
    /** Checks the values. @throws IllegalArgumentException naming the limit */
    public JobLimits {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (memoryLimitBytes < 0 || threads < 0) {
            throw new IllegalArgumentException("memoryLimitBytes and threads must be >= 0, got "
                    + memoryLimitBytes + " and " + threads);
        }
    }

    /** With another timeout. */
    public JobLimits withTimeout(Duration t) {
        return new JobLimits(t, memoryLimitBytes, threads);
    }

    /** With another memory limit (bytes, 0: none). */
    public JobLimits withMemoryLimit(long bytes) {
        return new JobLimits(timeout, bytes, threads);
    }
}
