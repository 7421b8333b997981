package io.quantbridge.service;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How {@link QuantBridgeService} runs its workers. Start from {@link #defaults()} and change
 * what you need with the {@code with...} methods.
 *
 * @param workers jobs that run at the same time (one worker JVM each)
 * @param queueCapacity jobs that may wait for a free worker; submitting more is refused
 * @param timeout a job running longer is stopped (then killed after {@code grace})
 * @param grace how long a stopped job may take to unwind before its worker is killed
 * @param memoryLimitBytes a worker whose resident memory goes over this is killed; 0: no limit
 * @param threadsPerJob torch/OpenMP/TensorFlow threads of each worker; 0: their defaults
 * @param heap the worker JVM's {@code -Xmx} (Java objects only; CPython's memory is outside it)
 * @param venv the Python environment of the workers; null: found as {@link io.quantbridge.runtime.PythonEnvironment#detect()} does
 * @param classPath the workers' class path; null: this JVM's {@code java.class.path}
 * @param jvmArgs extra JVM options of the workers
 * @param startTimeout how long a worker may take to start and connect
 */
public record ServiceOptions(int workers, int queueCapacity, Duration timeout, Duration grace, long memoryLimitBytes,
                             int threadsPerJob, String heap, Path venv, String classPath, List<String> jvmArgs,
                             Duration startTimeout) {
    /** Checks the numbers. @throws IllegalArgumentException naming the option */
    public ServiceOptions {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("queueCapacity must be >= 0, got " + queueCapacity);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (grace == null || grace.isNegative()) {
            throw new IllegalArgumentException("grace must be >= 0, got " + grace);
        }
        if (memoryLimitBytes < 0 || threadsPerJob < 0) {
            throw new IllegalArgumentException("memoryLimitBytes and threadsPerJob must be >= 0");
        }
        jvmArgs = jvmArgs == null ? List.of() : List.copyOf(jvmArgs);
    }

    /** The per-job limits these options give every job that does not bring its own. */
    public JobLimits limits() {
        return new JobLimits(timeout, memoryLimitBytes, threadsPerJob);
    }

    /** Two workers, 16 queued jobs, 1 hour timeout, 10 s grace, no memory limit, 1 GiB heap. */
    public static ServiceOptions defaults() {
        return new ServiceOptions(2, 16, Duration.ofHours(1), Duration.ofSeconds(10), 0, 0, "1g", null, null,
                List.of(), Duration.ofMinutes(2));
    }

    /** With {@code n} parallel workers. */
    public ServiceOptions withWorkers(int n) {
        return new ServiceOptions(n, queueCapacity, timeout, grace, memoryLimitBytes, threadsPerJob, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With room for {@code n} waiting jobs. */
    public ServiceOptions withQueueCapacity(int n) {
        return new ServiceOptions(workers, n, timeout, grace, memoryLimitBytes, threadsPerJob, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With a per-job timeout. */
    public ServiceOptions withTimeout(Duration t) {
        return new ServiceOptions(workers, queueCapacity, t, grace, memoryLimitBytes, threadsPerJob, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With the grace period before a stopped worker is killed. */
    public ServiceOptions withGrace(Duration g) {
        return new ServiceOptions(workers, queueCapacity, timeout, g, memoryLimitBytes, threadsPerJob, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With a per-worker resident memory limit in bytes (0: none). */
    public ServiceOptions withMemoryLimit(long bytes) {
        return new ServiceOptions(workers, queueCapacity, timeout, grace, bytes, threadsPerJob, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With {@code n} compute threads per job (0: the libraries' defaults). */
    public ServiceOptions withThreadsPerJob(int n) {
        return new ServiceOptions(workers, queueCapacity, timeout, grace, memoryLimitBytes, n, heap, venv,
                classPath, jvmArgs, startTimeout);
    }

    /** With the Python environment (a venv) the workers embed. */
    public ServiceOptions withVenv(Path dir) {
        return new ServiceOptions(workers, queueCapacity, timeout, grace, memoryLimitBytes, threadsPerJob, heap, dir,
                classPath, jvmArgs, startTimeout);
    }

    /** With an explicit worker class path. */
    public ServiceOptions withClassPath(String cp) {
        return new ServiceOptions(workers, queueCapacity, timeout, grace, memoryLimitBytes, threadsPerJob, heap, venv,
                cp, jvmArgs, startTimeout);
    }

    /** With extra worker JVM options. */
    public ServiceOptions withJvmArgs(List<String> args) {
        return new ServiceOptions(workers, queueCapacity, timeout, grace, memoryLimitBytes, threadsPerJob, heap, venv,
                classPath, args, startTimeout);
    }
}
