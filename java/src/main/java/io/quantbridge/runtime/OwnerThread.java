package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one thread that owns CPython, fed by a queue. Other threads submit calls and wait; a waiting
 * thread that is interrupted asks its call to stop (Python raises {@code Cancelled} at the next
 * progress event) and waits for it to unwind, so the interpreter is free again when the
 * interrupted caller returns. While a progress listener runs (on another thread), the owner
 * thread keeps serving calls from other threads, so a listener that calls Python cannot deadlock.
 */
final class OwnerThread {
    private final LinkedBlockingQueue<Call<?>> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final Runnable beforeEachCall;
    private volatile Call<?> current;

    OwnerThread(String name, Runnable beforeEachCall) {
        this.beforeEachCall = beforeEachCall;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    boolean isOwner() {
        return Thread.currentThread() == thread;
    }

    /** One queued call and the reason it was asked to stop (null while it should go on). */
    static final class Call<T> extends FutureTask<T> {
        volatile Call<?> outer;
        volatile boolean started;
        volatile String stopReason;
        volatile Throwable listenerFailure;

        Call(Callable<T> task) {
            super(task);
        }
    }

    private void loop() {
        while (true) {
            try {
                execute(queue.take());
            } catch (InterruptedException e) {
                // the owner thread is never interrupted on purpose; keep serving
            }
        }
    }

    private void execute(Call<?> call) {
        Call<?> previous = current;
        call.outer = previous;   // a call served while another waits for its listener runs inside it
        call.started = true;
        current = call;
        try {
            beforeEachCall.run();
            call.run();
        } finally {
            current = previous;
        }
    }

    /** The stop reason of the running call or of any call it runs inside; null if none. */
    String stopReason() {
        for (Call<?> c = current; c != null; c = c.outer) {
            String r = c.stopReason;
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** The call running now on the owner thread, or null. */
    Call<?> current() {
        return current;
    }

    /**
     * Serves queued calls on the owner thread until {@code until} is done (a listener running on
     * another thread that may itself call Python).
     */
    void serveUntil(Future<?> until) {
        while (!until.isDone()) {
            Call<?> next = queue.poll();
            if (next != null) {
                execute(next);
                continue;
            }
            try {
                until.get(1, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException | CancellationException e) {
                // loop: done or not, the condition above decides
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Runs {@code task} on the owner thread and returns its result. If the calling thread is
     * interrupted, the call is asked to stop and this waits for it to unwind, then throws
     * {@link CancelledException} with the interrupt flag set again.
     */
    <T> T run(Callable<T> task) throws QuantBridgeException {
        if (isOwner()) {
            return direct(task);
        }
        Call<T> call = new Call<>(task);
        queue.add(call);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return call.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                    if (call.stopReason == null) {
                        call.stopReason = "the calling thread was interrupted";
                    }
                    if (!call.started && call.cancel(false)) {   // never started: nothing ran
                        throw new CancelledException("the call was cancelled before it started (the calling thread was interrupted)", null);
                    }
                } catch (CancellationException e) {
                    throw new CancelledException("the call was cancelled before it started", null);
                } catch (ExecutionException e) {
                    throw unwrap(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static QuantBridgeException unwrap(Throwable c) {
        if (c instanceof QuantBridgeException q) {
            return q;
        }
        if (c instanceof RuntimeException r) {
            throw r;
        }
        if (c instanceof Error err) {
            throw err;
        }
        return new QuantBridgeException(String.valueOf(c), c);
    }

    private static <T> T direct(Callable<T> task) throws QuantBridgeException {
        try {
            return task.call();
        } catch (QuantBridgeException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new QuantBridgeException(String.valueOf(e), e);
        }
    }
}
