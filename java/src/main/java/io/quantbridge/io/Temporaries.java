package io.quantbridge.io;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The temporary files and staging directories this process has open, so that an interrupt
 * (Ctrl-C) can remove them before the process ends, and the gate that keeps an interrupt from
 * landing in the middle of a commit: a commit runs completely or not at all.
 */
public final class Temporaries {
    private static final Set<Path> OPEN = new LinkedHashSet<>();
    private static final ReentrantLock COMMITS = new ReentrantLock();
    private static volatile boolean interrupted;

    private Temporaries() {
    }

    /** Records a temporary that {@link #interrupt} should remove. */
    public static synchronized void add(Path p) {
        OPEN.add(p);
    }

    /** Forgets a temporary (it was removed or renamed into place). */
    public static synchronized void remove(Path p) {
        OPEN.remove(p);
    }

    /** Thrown by {@link #beginCommit()} once the process was interrupted. */
    public static final class InterruptedCommit extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InterruptedCommit() {
            super("interrupted");
        }
    }

    /**
     * Enters a commit (moving staged files into place); pair with {@link #endCommit()}.
     *
     * @throws InterruptedCommit if the process is being interrupted: the commit must not start
     */
    public static void beginCommit() {
        COMMITS.lock();
        if (interrupted) {
            COMMITS.unlock();
            throw new InterruptedCommit();
        }
    }

    /** Leaves a commit. */
    public static void endCommit() {
        COMMITS.unlock();
    }

    /** True once {@link #interrupt} ran. */
    public static boolean interrupted() {
        return interrupted;
    }

    /**
     * Stops further commits, waits up to {@code waitMillis} for one in progress to finish, and
     * deletes every open temporary.
     *
     * @return the temporaries that could not be removed
     */
    public static List<Path> interrupt(long waitMillis) {
        boolean locked = false;
        try {
            locked = COMMITS.tryLock(waitMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            interrupted = true;
            List<Path> left = new ArrayList<>();
            List<Path> open;
            synchronized (Temporaries.class) {
                open = new ArrayList<>(OPEN);
            }
            for (Path p : open) {
                if (!Leftovers.deleteTree(p)) {
                    left.add(p);
                }
            }
            return left;
        } finally {
            if (locked) {
                COMMITS.unlock();
            }
        }
    }
}
