package io.quantbridge.dist;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PythonRuntime;
import java.io.IOException;
import java.util.Optional;

/**
 * What the job code asks about its rank. Outside a distributed job every answer is the
 * single-process one: nothing to start, nothing to wait for, and this process writes.
 */
public final class Ranks {
    private static final String SHIM = "quantbridge.torch._distributed:";

    private static EventWriter events;

    private Ranks() {
    }

    /**
     * The progress listener for this process: {@code local} outside a distributed job; in one,
     * rank 0's events go to the launching process (its listener or progress bar) and the other
     * ranks report nothing.
     */
    public static synchronized ProgressListener progress(ProgressListener local) {
        Optional<RankEnv> env = RankEnv.current();
        if (env.isEmpty()) {
            return local;
        }
        if (!env.get().writes()) {
            return ProgressListener.NONE;
        }
        if (events == null) {
            try {
                events = new EventWriter(RankEnv.eventsFile(env.get().jobDir()));
            } catch (IOException e) {
                return ProgressListener.NONE;
            }
        }
        return events;
    }

    /**
     * In a rank: starts torch.distributed's default process group in the embedded interpreter
     * (gloo, or {@code QUANTBRIDGE_DIST_BACKEND}), so that calibration merges every rank's statistics.
     *
     * @throws QuantBridgeException if the process group cannot start (the others did not come, a bad address)
     */
    public static void init(PythonRuntime rt) throws QuantBridgeException {
        if (RankEnv.current().isPresent()) {
            rt.call(SHIM + "init_from_env");
        }
    }

    /** In a rank: leaves the process group (a local operation; the process exits next). */
    public static void shutdown(PythonRuntime rt) {
        if (RankEnv.current().isPresent()) {
            try {
                rt.call(SHIM + "shutdown");
            } catch (QuantBridgeException | RuntimeException e) {
                // leaving is best effort: the rank's own result stands
            }
        }
    }

    /** True unless this process is a rank other than 0: only rank 0 writes outputs. */
    public static boolean writes() {
        return RankEnv.current().map(RankEnv::writes).orElse(true);
    }

    /** This process's rank, if it is one. */
    public static Optional<RankEnv> current() {
        return RankEnv.current();
    }

    /**
     * In a rank: waits until every rank got here (rank 0 writes only after every rank finished its
     * work, so that a failing rank leaves no output behind).
     *
     * @throws QuantBridgeException if another rank failed or the wait timed out
     */
    public static void barrier(PythonRuntime rt) throws QuantBridgeException {
        if (RankEnv.current().isPresent()) {
            rt.call(SHIM + "barrier");
        }
    }
}
