package io.quantbridge.cli;

import io.quantbridge.io.Temporaries;
import io.quantbridge.runtime.PythonRuntime;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * Ctrl-C (SIGINT) and SIGTERM for the command line: the step stops within a few seconds, every
 * temporary file and staging directory of this run is removed, a commit in progress completes
 * (or none starts), one line {@code interrupted} (or {@code terminated}) goes to standard error,
 * and the process exits 130 (143 for SIGTERM). Files the user had are never touched.
 *
 * <p>The JVM's own handling (shutdown hooks, then C {@code exit()}) can hang when the Python
 * owner thread is inside a TensorFlow {@code Session.run}: C++ destructors run while that thread
 * still uses what they destroy. So the process ends through {@link PythonRuntime#haltProcess},
 * which runs no destructor.
 */
final class Interrupts {
    /** Exit code after Ctrl-C (128 + SIGINT). */
    static final int EXIT_INTERRUPTED = 130;
    /** Exit code after SIGTERM (128 + SIGTERM). */
    static final int EXIT_TERMINATED = 143;
    private static final AtomicBoolean STOPPING = new AtomicBoolean();
    private static volatile boolean enabled;
    private static final long COMMIT_WAIT_MILLIS = 5000;

    private Interrupts() {
    }

    /** Installs the handlers for this process (the command line's {@code main}). */
    static void install() {
        enabled = true;
        reinstall();
    }

    /**
     * Installs the handlers again if {@link #install()} ran (the embedded interpreter's start-up
     * may have replaced them); does nothing in a JVM that only runs the command line in-process.
     */
    static void reinstall() {
        if (!enabled) {
            return;
        }
        handle("INT", "interrupted", EXIT_INTERRUPTED);
        handle("TERM", "terminated", EXIT_TERMINATED);
    }

    /** True once a signal started stopping the process: nothing else may print or exit. */
    static boolean stopping() {
        return STOPPING.get();
    }

    /** Blocks for ever when the process is stopping (the interrupt handler ends it). */
    static void awaitStopIfStopping() {
        while (stopping()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void handle(String signal, String word, int code) {
        try {
            Signal.handle(new Signal(signal), s -> stop(word, code));
        } catch (IllegalArgumentException e) {
            // the signal is ignored (nohup, a background job) or reserved: keep what is there
        }
    }

    private static void stop(String word, int code) {
        if (!STOPPING.compareAndSet(false, true)) {
            return; // a second Ctrl-C while stopping: the first one finishes the job
        }
        Thread t = new Thread(() -> {
            List<Path> left = Temporaries.interrupt(COMMIT_WAIT_MILLIS);
            PrintStream err = System.err;
            System.out.flush();
            if (!left.isEmpty()) {
                err.println("quantbridge: could not remove " + left);
            }
            err.println(word);
            err.flush();
            PythonRuntime.haltProcess(code);
        }, "quantbridge-interrupt");
        t.setDaemon(false);
        t.start();
    }
}
