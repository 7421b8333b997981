package io.quantbridge.io;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Removes what a killed run left in a directory: temporary files and staging directories whose
 * name carries the tag of a process that no longer runs ({@link OwnerTag}). The work of a live
 * run (this one or a concurrent one) and untagged names are never touched.
 */
public final class Leftovers {
    private static volatile Consumer<String> reporter =
            line -> System.err.println("quantbridge: " + line);

    private Leftovers() {
    }

    /** Where the one-line notes about removed leftovers go (standard error by default). */
    public static void setReporter(Consumer<String> lines) {
        reporter = lines == null ? line -> { } : lines;
    }

    /**
     * Removes the leftovers of dead processes directly inside {@code dir}; a missing or unreadable
     * directory is skipped. Reports one line when something was removed.
     *
     * @return what was removed
     */
    public static List<Path> sweep(Path dir) {
        List<Path> removed = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return removed;
        }
        List<Long> owners = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, OwnerTag.PREFIX + "*")) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (OwnerTag.parse(name).isEmpty() || OwnerTag.ownerAlive(name)) {
                    continue;
                }
                if (deleteTree(p)) {
                    removed.add(p);
                    long pid = OwnerTag.parse(name).get()[0];
                    if (!owners.contains(pid)) {
                        owners.add(pid);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return removed;
        }
        if (!removed.isEmpty()) {
            reporter.accept("removed " + removed.size() + " temporary file(s) left in " + dir + " by a run that was "
                    + "killed (pid " + owners.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse("")
                    + ")");
        }
        return removed;
    }

    /** Deletes {@code p} and, for a directory, everything under it; true if it is gone. */
    static boolean deleteTree(Path p) {
        try (Stream<Path> walk = Files.walk(p)) {
            walk.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // fall through: report what could not be removed by its existence
        }
        return !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}
