package io.quantbridge.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who made a temporary file or staging directory: the process id and its start time (clock
 * ticks since boot, field 22 of {@code /proc/PID/stat}; {@code 0} where there is no
 * {@code /proc}). Every temporary name starts with {@code .qb-PID-START-}, so a later run can
 * tell leftovers of a dead process from the work of a live one, even after the pid was reused.
 * The Python shim writes the same tag ({@code quantbridge.common.paths.owner_tag}).
 */
public final class OwnerTag {
    /** What every temporary name starts with. */
    public static final String PREFIX = ".qb-";
    private static final Pattern TAGGED = Pattern.compile("^\\.qb-(\\d+)-(\\d+)-.+");
    private static final String CURRENT = ProcessHandle.current().pid() + "-" + startTicks(ProcessHandle.current().pid())
            .orElse(0L);

    private OwnerTag() {
    }

    /** This process's tag, {@code PID-START}. */
    public static String current() {
        return CURRENT;
    }

    /** A name prefix for a new temporary of this process: {@code .qb-PID-START-}. */
    public static String prefix() {
        return PREFIX + CURRENT + "-";
    }

    /**
     * The owner of a tagged temporary name, or empty when {@code name} is not one.
     *
     * @return {@code [pid, startTicks]}
     */
    public static Optional<long[]> parse(String name) {
        Matcher m = TAGGED.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * True if the process that made {@code name} still runs (same pid, same start time). Names
     * that carry no tag count as alive: their owner cannot be told, so they are never touched.
     */
    public static boolean ownerAlive(String name) {
        Optional<long[]> owner = parse(name);
        if (owner.isEmpty()) {
            return true;
        }
        long pid = owner.get()[0];
        long start = owner.get()[1];
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        Optional<Long> ticks = startTicks(pid);
        // Without /proc a live pid is taken as the owner; with it the start time must match too.
        return start == 0 || ticks.isEmpty() || ticks.get() == start;
    }

    /** The start time of {@code pid} in clock ticks since boot, from {@code /proc}; empty without it. */
    static Optional<Long> startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Optional.of(Long.parseLong(rest[19]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
