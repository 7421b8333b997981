package io.quantbridge.service;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.CancelledException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The service mode: every job runs in a fresh worker JVM with its own embedded CPython (the same
 * runtime code as in-process), so a segfault, {@code os._exit}, a hang or a memory blow-up in
 * user code fails that one job with a {@link WorkerFailedException}, and two projects with the
 * same package name never meet. At most {@link ServiceOptions#workers()} jobs run at once; up to
 * {@link ServiceOptions#queueCapacity()} more wait; beyond that {@link #submit} refuses.
 *
 * <pre>{@code
 * try (QuantBridgeService service = QuantBridgeService.start(ServiceOptions.defaults().withWorkers(2))) {
 *     Future<JobResult> f = service.submit(job, listener);
 *     JobResult r = f.get();          // f.cancel(true) stops the job; its outputs are not left behind
 * }
 * }</pre>
 */
public final class QuantBridgeService implements JobRunner, AutoCloseable {
    private final ServiceOptions options;
    private final ThreadPoolExecutor pool;

    private QuantBridgeService(ServiceOptions options) {
        this.options = options;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(options.workers(), options.workers(), 0, TimeUnit.MILLISECONDS,
                options.queueCapacity() == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(options.queueCapacity()),
                r -> {
                    Thread t = new Thread(r, "quantbridge-job-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                },
                (r, executor) -> {
                    throw new RejectedExecutionException(executor.isShutdown() ? "the QuantBridge service is closed"
                            : "the QuantBridge service is full: " + options.workers() + " jobs running and "
                            + options.queueCapacity() + " waiting; retry later or raise ServiceOptions.queueCapacity");
                });
    }

    /** Starts a service; workers start per job, so this is cheap. */
    public static QuantBridgeService start(ServiceOptions options) {
        return new QuantBridgeService(options);
    }

    /** The options this service runs with. */
    public ServiceOptions options() {
        return options;
    }

    /**
     * Queues {@code job}. The future's {@code cancel(true)} stops it: the worker is asked to stop
     * at its next progress event and killed after the grace period; its output files are not
     * left behind.
     *
     * @throws RejectedExecutionException if the queue is full or the service is closed
     */
    public Future<JobResult> submit(QuantJob job, JobListener listener) {
        return submit(job, listener, options.limits());
    }

    /**
     * Queues {@code job} with its own timeout, memory limit and thread count.
     *
     * @throws RejectedExecutionException if the queue is full or the service is closed
     */
    public Future<JobResult> submit(QuantJob job, JobListener listener, JobLimits limits) {
        java.util.Objects.requireNonNull(job, "job");
        java.util.Objects.requireNonNull(limits, "limits");
        return pool.submit(() -> new WorkerProcess(options, limits, job, listener).run());
    }

    /**
     * Runs {@code job} in a worker (through the queue, like {@link #submit}) and waits for it;
     * interrupting the calling thread cancels it.
     *
     * @throws RejectedExecutionException if the queue is full or the service is closed
     */
    @Override
    public JobResult run(QuantJob job, JobListener listener) throws QuantBridgeException {
        Future<JobResult> f = submit(job, listener);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new CancelledException("stopped: the calling thread was interrupted", null);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof QuantBridgeException q) {
                throw q;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new QuantBridgeException(String.valueOf(c), c);
        }
    }

    /** Jobs running or waiting now. */
    public int pending() {
        return pool.getActiveCount() + pool.getQueue().size();
    }

    /** Stops every running job (their workers are killed after the grace period) and refuses new ones. */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(options.grace().toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
