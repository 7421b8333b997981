package io.quantbridge.export;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.Leftovers;
import io.quantbridge.io.OwnerTag;
import io.quantbridge.io.Temporaries;
import io.quantbridge.runtime.PythonException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A staging directory inside the output directory: every file of one step is written there, and
 * {@link #commit()} moves them into place together, all or none. Closing without a commit deletes
 * everything staged, so a failed or interrupted step leaves nothing half-written.
 *
 * <p>Without overwrite, the commit never replaces a file, also one that another run wrote
 * after this one started: it links the staged files into place (link(2) fails on an existing
 * name) and, when one name is taken, removes what it linked and reports which file was kept.
 * With overwrite, the old files are kept aside until every new one is in place and are put back
 * if a move fails. Commits into one directory are serialised across processes
 * ({@link CommitLock}), so two runs never leave a mixed set. The staging directory is hidden
 * ({@code .qb-PID-START-*.staging}, see {@link OwnerTag}); stale ones of killed runs are removed
 * when the next step opens the directory ({@link Leftovers}). Error messages name the output
 * directory, never the staging directory.
 */
public final class StagedOutput implements AutoCloseable {
    private final Path outDir;
    private final Path staging;
    private final List<String> names;
    private final boolean overwrite;
    private boolean committed;

    private StagedOutput(Path outDir, Path staging, List<String> names, boolean overwrite) {
        this.outDir = outDir;
        this.staging = staging;
        this.names = names;
        this.overwrite = overwrite;
    }

    /**
     * Checks {@code outDir} and the target names, removes leftovers of killed runs there, then
     * creates the staging directory.
     *
     * @param names the files the commit moves into place
     * @param overwrite replace existing files of the same names on commit
     * @throws QuantBridgeException if the directory is missing or not writable, or a target exists
     *     and overwrite is off
     */
    public static StagedOutput open(Path outDir, List<String> names, boolean overwrite) throws QuantBridgeException {
        Path dir = outDir.normalize();
        if (dir.toString().isEmpty()) {
            dir = Path.of(".");
        }
        if (!Files.isDirectory(dir)) {
            throw new QuantBridgeException("output directory " + dir + " does not exist or is not a directory; create it first");
        }
        Leftovers.sweep(dir);
        CommitLock.removeStale(dir);
        if (!overwrite) {
            List<String> existing = existing(dir, names);
            if (!existing.isEmpty()) {
                throw new QuantBridgeException("refusing to overwrite existing " + String.join(", ", existing)
                        + "; choose another output directory or name, or allow overwriting (--force)");
            }
        }
        Path staging = dir.resolve(OwnerTag.prefix() + Long.toHexString(System.nanoTime()) + ".staging");
        try {
            Temporaries.add(staging);
            Files.createDirectory(staging);
            return new StagedOutput(dir, staging, List.copyOf(names), overwrite);
        } catch (IOException e) {
            Temporaries.remove(staging);
            throw new QuantBridgeException("cannot write into the output directory " + dir + ": "
                    + (e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.toString())
                    + "; choose a writable directory", e);
        }
    }

    /** The staging directory (write the files here; never show its name to the user). */
    public Path dir() {
        return staging;
    }

    /** The output directory. */
    public Path outDir() {
        return outDir;
    }

    /** Where {@code name} is staged. */
    public Path staged(String name) {
        return staging.resolve(name);
    }

    /** Where {@code name} lands after the commit. */
    public Path target(String name) {
        return outDir.resolve(name);
    }

    /**
     * Rewrites a message that names the staging directory so that it names the output directory.
     */
    public String hide(String message) {
        return message == null ? null : message.replace(staging.toAbsolutePath().toString(), outDir.toString())
                .replace(staging.toString(), outDir.toString());
    }

    /**
     * {@code e} with the staging directory's name replaced by the output directory's, for errors
     * raised while writing into the staging directory ({@code e} itself when it does not name it).
     */
    public QuantBridgeException hidden(QuantBridgeException e) {
        String m = e.getMessage();
        String stagingName = staging.getFileName().toString();
        if (m == null || !m.contains(stagingName)) {
            return e;
        }
        if (e instanceof PythonException p) {
            PythonException q = new PythonException(p.pythonType(), hide(p.pythonMessage()), hide(p.pythonTraceback()),
                    p.getCause());
            q.setStackTrace(p.getStackTrace());
            return q;
        }
        QuantBridgeException q = new QuantBridgeException(hide(m), e.getCause());
        q.setStackTrace(e.getStackTrace());
        return q;
    }

    /**
     * Moves every expected file into the output directory, all or none.
     *
     * @throws QuantBridgeException if a file was not produced, a target appeared meanwhile
     *     (without overwrite), or a move fails
     */
    public void commit() throws QuantBridgeException {
        commit(names);
    }

    /**
     * Moves the staged files {@code produced} into the output directory, all or none (for steps
     * whose file names are known only afterwards, such as a TensorFlow checkpoint's shards).
     *
     * @throws QuantBridgeException as {@link #commit()}
     */
    public void commit(List<String> produced) throws QuantBridgeException {
        for (String n : produced) {
            if (!Files.isRegularFile(staged(n))) {
                throw new QuantBridgeException("the step did not produce " + target(n) + "; nothing was written");
            }
        }
        Temporaries.beginCommit();
        try (CommitLock lock = CommitLock.acquire(outDir)) {
            if (overwrite) {
                Commits.replacing(staging, outDir, produced);
            } else {
                Commits.noReplace(staging, outDir, produced);
            }
            committed = true;
        } finally {
            Temporaries.endCommit();
        }
    }

    /** Deletes the staging directory and anything left in it; safe to call twice. */
    @Override
    public void close() {
        if (Files.exists(staging)) {
            deleteStaging();
        }
        Temporaries.remove(staging);
    }

    private void deleteStaging() {
        try (var walk = Files.walk(staging)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("quantbridge: could not remove a temporary directory in " + outDir + ": " + e.getMessage());
        }
    }

    /** True after a successful {@link #commit()}. */
    public boolean committed() {
        return committed;
    }

    static List<String> existing(Path dir, List<String> names) {
        List<String> existing = new ArrayList<>();
        for (String n : names) {
            if (Files.exists(dir.resolve(n), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                existing.add(dir.resolve(n).toString());
            }
        }
        return existing;
    }
}
