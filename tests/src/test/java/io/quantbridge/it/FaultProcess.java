package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The command line as a real process, for the fault tests: the {@code ./quantbridge} launcher or
 * {@code java -cp ... io.quantbridge.cli.Main}, started as its own process group (so a signal can
 * go to the pid or to the whole group, as a terminal's Ctrl-C does), in a working directory that
 * plays the user's project directory. Output goes to files outside that directory.
 */
final class FaultProcess {
    static final Path HOME = Runtimes.home();
    static final Path HELPERS = HOME.resolve("tests/src/test/python");

    private final Process process;
    private final Path out;
    private final Path err;

    private FaultProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** The exit code and both streams of a finished process. */
    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }

        /** Asserts the exit code and exactly one line on standard error, containing every fragment. */
        Result oneLine(int expected, String... fragments) {
            assertEquals(expected, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            assertEquals(1, errLines().size(), () -> "expected one line on stderr, got:\n" + err + "\nstdout:\n" + out);
            for (String f : fragments) {
                assertTrue(err.contains(f), () -> "stderr lacks '" + f + "':\n" + err);
            }
            return this;
        }
    }

    /** {@code ./quantbridge args...} (without the setup check: the build ran it). */
    static List<String> launcher(Object... args) {
        List<String> cmd = new ArrayList<>(List.of(HOME.resolve("quantbridge").toString()));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        return cmd;
    }

    /** {@code java -cp <the test class path> io.quantbridge.cli.Main args...}. */
    static List<String> java(Object... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Dquantbridge.home=" + HOME,
                "io.quantbridge.cli.Main"));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        return cmd;
    }

    /** Starts {@code command} in {@code cwd} as the leader of a new process group ({@code setsid}). */
    static FaultProcess start(Path cwd, Path logs, List<String> command) throws IOException {
        Files.createDirectories(logs);
        Path out = Files.createTempFile(logs, "out", ".txt");
        Path err = Files.createTempFile(logs, "err", ".txt");
        List<String> cmd = new ArrayList<>(List.of("setsid"));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("QUANTBRIDGE_NO_SETUP", "1");
        String venv = System.getProperty("quantbridge.venv");
        if (venv != null && !venv.isBlank()) {
            pb.environment().put("QUANTBRIDGE_VENV", venv);
        }
        return new FaultProcess(pb.start(), out, err);
    }

    /** Runs {@code command} to its end. */
    static Result run(Path cwd, Path logs, List<String> command) throws Exception {
        return start(cwd, logs, command).await(300);
    }

    long pid() {
        return process.pid();
    }

    /** What the process printed on standard output so far. */
    String outSoFar() throws IOException {
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** Waits until standard output contains {@code fragment}; fails if the process ends first. */
    void awaitOutput(String fragment, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (outSoFar().contains(fragment)) {
                return;
            }
            if (!process.isAlive()) {
                fail("the process ended before printing '" + fragment + "': " + await(1));
            }
            Thread.sleep(100);
        }
        String seen = outSoFar();
        process.descendants().forEach(ProcessHandle::destroyForcibly);   // a failed test leaves no busy process
        process.destroyForcibly();
        fail("no '" + fragment + "' within " + seconds + " s; stdout:\n" + seen);
    }

    /** Sends {@code signal} (INT, TERM, KILL) to the process, or to its whole process group. */
    void signal(String signal, boolean group) throws Exception {
        String target = group ? "-" + pid() : Long.toString(pid());
        Process kill = new ProcessBuilder("kill", "-" + signal, "--", target).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + signal + " " + target);
    }

    /** Waits for the end (fails after {@code seconds}, killing the group) and collects the output. */
    Result await(int seconds) throws Exception {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            new ProcessBuilder("kill", "-KILL", "--", "-" + pid()).start().waitFor();
            process.waitFor();
            fail("the process did not end within " + seconds + " s (killed); stdout:\n" + outSoFar() + "\nstderr:\n"
                    + Files.readString(err));
        }
        // The launcher's output filter may still be writing its last line.
        Thread.sleep(200);
        return new Result(process.exitValue(), outSoFar(), Files.readString(err, StandardCharsets.UTF_8));
    }

    /** The names in {@code dir} (not recursive), sorted. */
    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Names in {@code dir} that a run must never leave there: temporaries, crash logs, core files. */
    static List<String> litter(Path dir) throws IOException {
        return names(dir).stream().filter(n -> n.startsWith(".qb-") || n.startsWith("qb_staging_")
                || n.startsWith("hs_err") || n.startsWith("replay_pid") || n.equals("core") || n.startsWith("core."))
                .toList();
    }
}
