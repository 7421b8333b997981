package io.quantbridge.export;

import io.quantbridge.QuantBridgeException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A staging directory inside the output directory: every file of one export is written there,
 * and {@link #commit()} moves them into place together. Closing without a commit deletes
 * everything staged, so a failed export leaves nothing half-written and overwrites nothing.
 */
public final class StagedOutput implements AutoCloseable {
    private final Path outDir;
    private final Path staging;
    private final List<String> names;
    private boolean committed;

    private StagedOutput(Path outDir, Path staging, List<String> names) {
        this.outDir = outDir;
        this.staging = staging;
        this.names = names;
    }

    /**
     * Checks {@code outDir} and the target names, then creates the staging directory.
     *
     * @param overwrite replace existing files of the same names on commit
     * @throws QuantBridgeException if the directory is missing or a target exists and overwrite is off
     */
    public static StagedOutput open(Path outDir, List<String> names, boolean overwrite) throws QuantBridgeException {
        // Kept relative when given relative: the shim checks the vendor's path rule on the path
        // as the user wrote it, not on the directories above it.
        Path dir = outDir.normalize();
        if (!Files.isDirectory(dir)) {
            throw new QuantBridgeException("output directory " + dir + " does not exist or is not a directory; create it first");
        }
        List<String> existing = new ArrayList<>();
        for (String n : names) {
            if (Files.exists(dir.resolve(n))) {
                existing.add(dir.resolve(n).toString());
            }
        }
        if (!existing.isEmpty() && !overwrite) {
            throw new QuantBridgeException("export would overwrite existing file(s) " + existing
                    + "; choose another output directory or name, or pass overwrite");
        }
        try {
            // The name keeps to the vendor's path rule (letters, digits, underscores).
            Path staging = Files.createTempDirectory(dir, "qb_staging_");
            return new StagedOutput(dir, staging, List.copyOf(names));
        } catch (IOException e) {
            throw new QuantBridgeException("cannot create a staging directory in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The staging directory (write the files here). */
    public Path dir() {
        return staging;
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
     * Moves every expected file into the output directory.
     *
     * @throws QuantBridgeException if a file was not produced
     */
    public void commit() throws QuantBridgeException {
        for (String n : names) {
            if (!Files.isRegularFile(staged(n))) {
                throw new QuantBridgeException("export did not produce " + n + " in " + staging);
            }
        }
        try {
            for (String n : names) {
                try {
                    Files.move(staged(n), target(n), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(staged(n), target(n), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new QuantBridgeException("cannot move the exported files into " + outDir + ": " + e.getMessage(), e);
        }
        committed = true;
    }

    /** Deletes the staging directory and anything left in it; safe to call twice. */
    @Override
    public void close() {
        if (!Files.exists(staging)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(staging)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("quantbridge: could not remove staging directory " + staging + ": " + e.getMessage());
        }
    }

    /** True after a successful {@link #commit()}. */
    public boolean committed() {
        return committed;
    }
}
