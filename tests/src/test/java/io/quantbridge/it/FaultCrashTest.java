package io.quantbridge.it;

import static io.quantbridge.it.FaultProjects.TORCH_DATA;
import static io.quantbridge.it.FaultProjects.TORCH_MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A segfault in user code (while importing the model module, in the data function, in the
 * evaluation function) through the real launcher: one {@code error:} line naming the signal and
 * the crash log, exit 134, no JVM banner on standard output, no crash log, core file or
 * temporary file in the user's directory. A hard {@code os._exit} in user code is an ordinary
 * Python error (exit 3).
 */
class FaultCrashTest {
    private static final Pattern LOG = Pattern.compile("crash log: (\\S+)");

    @TempDir
    static Path dir;
    @TempDir
    static Path logs;

    @BeforeAll
    static void project() throws Exception {
        FaultProjects.torch(dir);
    }

    private static FaultProcess.Result calibrate(String model, String data, Object... more) throws Exception {
        List<Object> args = new java.util.ArrayList<>(List.of("calibrate", "-c", dir.resolve("config_gen.json"), "-P",
                CliHarness.TORCH_PROJECT, "-P", FaultProcess.HELPERS, "-m", model, "--weights", dir.resolve("float.pth"),
                "-d", data, "-n", 2, "-o", dir.resolve("crashed.pth")));
        args.addAll(List.of(more));
        return FaultProcess.run(dir, logs, FaultProcess.launcher(args.toArray()));
    }

    private static void crashed(FaultProcess.Result r) throws Exception {
        r.oneLine(134, "error: the process crashed in native code: SIGSEGV", "crash log: ");
        assertFalse(r.out().contains("# A fatal error"), "JVM banner on stdout:\n" + r.out());
        Matcher m = LOG.matcher(r.err());
        assertTrue(m.find(), r.err());
        Path log = Path.of(m.group(1));
        assertTrue(Files.isRegularFile(log), "crash log " + log + " missing");
        assertFalse(log.startsWith(dir), "crash log in the user's directory: " + log);
        assertEquals(List.of(), FaultProcess.litter(dir));
        assertFalse(Files.exists(dir.resolve("crashed.pth")));
        Files.delete(log);
    }

    @Test
    void segfaultInTheDataFunction() throws Exception {
        crashed(calibrate(TORCH_MODEL, "qb_faults:segfault"));
    }

    @Test
    void segfaultWhileImportingTheModelModule() throws Exception {
        crashed(calibrate("qb_import_segfault:build_model", TORCH_DATA));
    }

    @Test
    void segfaultInTheEvaluationFunction() throws Exception {
        crashed(calibrate(TORCH_MODEL, TORCH_DATA, "--eval", "qb_faults:segfault"));
    }

    @Test
    void osExitInUserCodeIsAPythonError() throws Exception {
        FaultProcess.Result r = calibrate(TORCH_MODEL, "qb_faults:os_exit");
        r.oneLine(3, "error: ", "os._exit(7)", "stopped");
        assertEquals(List.of(), FaultProcess.litter(dir));
        assertFalse(Files.exists(dir.resolve("crashed.pth")));
    }
}
