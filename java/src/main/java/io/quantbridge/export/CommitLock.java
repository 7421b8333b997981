package io.quantbridge.export;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.OwnerTag;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on one output directory for the few milliseconds of a commit, across
 * processes (an fcntl lock on {@code .qb-commit.lock}, which the kernel drops when a process
 * dies) and across threads of this JVM. The lock file exists only while a commit runs.
 */
final class CommitLock implements AutoCloseable {
    /** The lock file's name. */
    static final String NAME = OwnerTag.PREFIX + "commit.lock";
    private static final Object JVM = new Object();
    private static final java.util.Set<Path> HELD = new java.util.HashSet<>();

    private final Path dirKey;
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private CommitLock(Path dirKey, Path file, FileChannel channel, FileLock lock) {
        this.dirKey = dirKey;
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Waits for the lock of {@code dir}.
     *
     * @throws QuantBridgeException if the lock file cannot be created
     */
    static CommitLock acquire(Path dir) throws QuantBridgeException {
        Path key = dir.toAbsolutePath().normalize();
        synchronized (JVM) {
            while (HELD.contains(key)) {
                try {
                    JVM.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new QuantBridgeException("interrupted while waiting to write into " + dir, e);
                }
            }
            HELD.add(key);
        }
        Path file = dir.resolve(NAME);
        try {
            while (true) {
                FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock l = ch.lock();
                // Another process may have deleted the file between our open and our lock: then
                // the lock is on a dead inode, and we retry on the current file.
                if (sameFile(ch, file)) {
                    return new CommitLock(key, file, ch, l);
                }
                l.release();
                ch.close();
            }
        } catch (IOException e) {
            release(key);
            throw new QuantBridgeException("cannot write into the output directory " + dir + ": " + e, e);
        }
    }

    /**
     * True if {@code file} is still the file {@code ch} locked: another process may have deleted
     * it between our open and our lock, leaving us a lock on a dead inode. A unique token written
     * through the channel and read back through the path tells.
     */
    private static boolean sameFile(FileChannel ch, Path file) throws IOException {
        String token = OwnerTag.current() + "-" + System.nanoTime() + "-" + Thread.currentThread().getId();
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap(token.getBytes(java.nio.charset.StandardCharsets.US_ASCII)), 0);
        try {
            return token.equals(Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** Removes a lock file that a killed run left behind (when nobody holds it). */
    static void removeStale(Path dir) {
        Path file = dir.resolve(NAME);
        if (!Files.exists(file)) {
            return;
        }
        try {
            acquire(dir).close();
        } catch (QuantBridgeException | RuntimeException e) {
            // not ours to fix: a commit of ours will report the problem
        }
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a later commit reuses it; the sweep removes it when nobody holds it
        }
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // closing the channel drops the lock anyway
        }
        release(dirKey);
    }

    private static void release(Path key) {
        synchronized (JVM) {
            HELD.remove(key);
            JVM.notifyAll();
        }
    }
}
