package io.quantbridge.export;

import io.quantbridge.QuantBridgeException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

/** The two ways {@link StagedOutput} moves a set of staged files into place, all or none. */
final class Commits {
    private Commits() {
    }

    /**
     * Puts every staged file in place without replacing any file: each is hard-linked under its
     * final name (an atomic create-if-absent) and, when one name is taken, the links made so far
     * are removed and the commit is refused, naming the file that was kept.
     */
    static void noReplace(Path staging, Path outDir, List<String> names) throws QuantBridgeException {
        List<Path> placed = new ArrayList<>();
        for (String n : names) {
            Path target = outDir.resolve(n);
            try {
                place(staging.resolve(n), target);
                placed.add(target);
            } catch (FileAlreadyExistsException e) {
                undo(placed);
                throw new QuantBridgeException(target + " appeared while this run was working (" + describe(target)
                        + "); the existing file was kept and nothing of this run was written; pass --force to replace "
                        + "it, or choose another output");
            } catch (IOException e) {
                undo(placed);
                throw new QuantBridgeException("cannot write " + target + ": " + e + "; nothing of this run was written", e);
            }
        }
        for (String n : names) {
            try {
                Files.deleteIfExists(staging.resolve(n));
            } catch (IOException ignored) {
                // the staging directory is removed on close
            }
        }
    }

    /** Links {@code staged} to {@code target}, or moves it where hard links are not supported. */
    private static void place(Path staged, Path target) throws IOException {
        try {
            Files.createLink(target, staged);
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (UnsupportedOperationException | IOException e) {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new FileAlreadyExistsException(target.toString());
            }
            Files.move(staged, target); // no REPLACE_EXISTING: fails if the target appeared
        }
    }

    private static void undo(List<Path> placed) {
        for (Path p : placed) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort; the refusal message matters more
            }
        }
    }

    private static String describe(Path target) {
        try {
            FileTime t = Files.getLastModifiedTime(target);
            return "written at " + t.toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + ", probably by another run";
        } catch (IOException e) {
            return "probably by another run";
        }
    }

    /**
     * Puts every staged file in place, replacing existing files. Each file that is replaced is
     * first kept aside (a hard link, or a copy) in the staging directory; if a move fails, the
     * files moved so far are taken back and the old ones restored.
     */
    static void replacing(Path staging, Path outDir, List<String> names) throws QuantBridgeException {
        Path aside = staging.resolve(".old");
        List<String> moved = new ArrayList<>();
        try {
            Files.createDirectories(aside);
            for (String n : names) {
                Path target = outDir.resolve(n);
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    keepAside(target, aside.resolve(n));
                }
            }
            for (String n : names) {
                move(staging.resolve(n), outDir.resolve(n));
                moved.add(n);
            }
        } catch (IOException e) {
            restore(aside, outDir, moved);
            throw new QuantBridgeException("cannot write " + outDir + ": " + e + "; the files there were left as they "
                    + "were", e);
        }
    }

    private static void keepAside(Path target, Path copy) throws IOException {
        try {
            Files.createLink(copy, target);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(target, copy, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void restore(Path aside, Path outDir, List<String> moved) {
        for (String n : moved) {
            Path target = outDir.resolve(n);
            try {
                if (Files.exists(aside.resolve(n), LinkOption.NOFOLLOW_LINKS)) {
                    move(aside.resolve(n), target);
                } else {
                    Files.deleteIfExists(target);
                }
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
