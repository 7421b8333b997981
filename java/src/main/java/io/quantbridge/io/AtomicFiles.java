package io.quantbridge.io;

import io.quantbridge.QuantBridgeException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * Atomic whole-file writes: the content goes to a temporary file ({@code .qb-PID-START-*.tmp},
 * see {@link OwnerTag}) in the target's directory, is flushed to disk, then renamed onto the target.
 *
 * <p>On any failure the temporary file is deleted and the target is untouched. With
 * {@code overwrite == false} an existing target is never replaced (checked race-free through a
 * hard link where the file system allows it). The temporary-file names are the ones the Python
 * shim uses ({@code quantbridge.common.paths.atomic_write_bytes}); an interrupt removes an open
 * one ({@link Temporaries}), and leftovers of a killed run are removed by the next write into the
 * directory ({@link Leftovers}).
 */
public final class AtomicFiles {
    /** Prefix of the temporary files; a directory listing of leftovers can filter on it. */
    public static final String TEMP_PREFIX = OwnerTag.PREFIX;
    /** Suffix of the temporary files. */
    public static final String TEMP_SUFFIX = ".tmp";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Writes the content of a file to an output stream; may throw {@link IOException}. */
    @FunctionalInterface
    public interface Writer {
        /** Writes the whole content to {@code out} (do not close it). */
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * Writes {@code data} to {@code target} atomically, replacing an existing file.
     *
     * @return the target path
     * @throws QuantBridgeException if the directory does not exist or the write fails
     */
    public static Path write(Path target, byte[] data) throws QuantBridgeException {
        return write(target, data, true);
    }

    /**
     * Writes {@code data} to {@code target} atomically.
     *
     * @param overwrite false to refuse replacing an existing file
     * @return the target path
     * @throws QuantBridgeException if the target exists and {@code overwrite} is false, the
     *     directory does not exist, or the write fails
     */
    public static Path write(Path target, byte[] data, boolean overwrite) throws QuantBridgeException {
        Objects.requireNonNull(data, "data");
        return write(target, overwrite, out -> out.write(data));
    }

    /**
     * Writes {@code text} encoded as UTF-8 to {@code target} atomically, replacing an existing file.
     *
     * @throws QuantBridgeException if the directory does not exist or the write fails
     */
    public static Path writeString(Path target, String text) throws QuantBridgeException {
        return writeString(target, text, true);
    }

    /**
     * Writes {@code text} encoded as UTF-8 to {@code target} atomically.
     *
     * @param overwrite false to refuse replacing an existing file
     * @throws QuantBridgeException if the target exists and {@code overwrite} is false, the
     *     directory does not exist, or the write fails
     */
    public static Path writeString(Path target, String text, boolean overwrite) throws QuantBridgeException {
        Objects.requireNonNull(text, "text");
        return write(target, text.getBytes(StandardCharsets.UTF_8), overwrite);
    }

    /**
     * Streams content produced by {@code writer} to {@code target} atomically (for large files
     * such as ONNX models).
     *
     * @param overwrite false to refuse replacing an existing file
     * @return the target path
     * @throws QuantBridgeException if the target exists and {@code overwrite} is false, the
     *     directory does not exist, or the writer or the rename fails
     */
    public static Path write(Path target, boolean overwrite, Writer writer) throws QuantBridgeException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(writer, "writer");
        Path absolute = target.toAbsolutePath().normalize();
        Path dir = absolute.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new QuantBridgeException("cannot write " + target + ": its directory " + dir
                    + " does not exist or is not a directory; create it first");
        }
        if (Files.isDirectory(absolute)) {
            throw new QuantBridgeException("cannot write " + target + ": expected a file path, found a directory");
        }
        if (!overwrite && Files.exists(absolute)) {
            throw refused(target);
        }
        Leftovers.sweep(dir);
        Path tmp = null;
        try {
            tmp = createTemp(dir);
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(channel);
                writer.writeTo(out);
                out.flush();
                channel.force(true);
            }
            Temporaries.beginCommit();
            try {
                if (overwrite) {
                    moveReplacing(tmp, absolute);
                } else {
                    moveNoReplace(tmp, absolute);
                }
            } finally {
                Temporaries.endCommit();
            }
            return target;
        } catch (FileAlreadyExistsException e) {
            throw refused(target);
        } catch (IOException e) {
            throw new QuantBridgeException("writing " + target + " failed: " + e, e);
        } finally {
            if (tmp != null) {
                try { // after a rename the temporary name is gone already
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the original error matters more
                }
                Temporaries.remove(tmp);
            }
        }
    }

    /**
     * A new, empty temporary file in {@code dir} with the default permissions (umask), unlike
     * {@link Files#createTempFile} which makes it owner-only and so would the result be.
     */
    private static Path createTemp(Path dir) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve(OwnerTag.prefix() + Long.toHexString(RANDOM.nextLong()) + TEMP_SUFFIX);
            try {
                Temporaries.add(tmp);
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                Temporaries.remove(tmp);
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    private static QuantBridgeException refused(Path target) {
        return new QuantBridgeException("refusing to overwrite existing file " + target
                + " (overwrite was not allowed); remove it or choose another path");
    }

    private static void moveReplacing(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void moveNoReplace(Path tmp, Path absolute) throws IOException {
        boolean linked;
        try {
            // link(2) fails if the target exists: an atomic "create only if absent".
            Files.createLink(absolute, tmp);
            linked = true;
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (UnsupportedOperationException | IOException e) {
            linked = false;
        }
        if (!linked) {
            Files.move(tmp, absolute); // without REPLACE_EXISTING: fails if the target appeared
        }
        // when linked, the caller deletes the temporary name
    }
}
