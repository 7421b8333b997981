package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test of the real entry points as subprocesses: the launcher script and {@code Main.main}'s exit code. */
class CliLauncherTest {
    private static final Path HOME = Runtimes.home();

    private record Proc(int code, String out) { }

    private static Proc exec(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).directory(HOME.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out");
        return new Proc(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void launcherHelpListsTheCommands() throws Exception {
        assumeTrue(Files.isDirectory(HOME.resolve("cli/target/lib")), "the Java side is not built");
        Proc r = exec(List.of(HOME.resolve("quantbridge").toString(), "--help"));
        assertEquals(0, r.code(), r.out());
        for (String cmd : List.of("setup", "test", "config", "calibrate", "train", "export", "inspect", "report")) {
            assertTrue(r.out().contains("  " + cmd + " "), () -> cmd + " missing:\n" + r.out());
        }
    }

    @Test
    void mainExitsWithTheDocumentedCode(@TempDir Path tmp) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        Path junk = Files.writeString(tmp.resolve("junk.bin"), "junk");
        Proc bad = exec(List.of(java, "-cp", cp, "io.quantbridge.cli.Main", "inspect", junk.toString()));
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.out().startsWith("error: "), bad.out());
        Proc usage = exec(List.of(java, "-cp", cp, "io.quantbridge.cli.Main", "calibrate"));
        assertEquals(2, usage.code(), usage.out());
    }
}
