package io.quantbridge.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The resident memory of a process, from {@code /proc/PID/status} (Linux). */
final class Rss {
    private Rss() {
    }

    /** Resident bytes of process {@code pid}, or 0 if unknown. */
    static long of(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    /** Resident bytes of this JVM. */
    static long self() {
        return of(ProcessHandle.current().pid());
    }
}
