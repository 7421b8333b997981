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
 * temporary file in the user's directory. The same for {@code os.abort()} (SIGABRT, no output of
 * its own) and a "Fatal Python error" (its message in the line, CPython's report with the
 * traceback in the crash log); user code that merely prints those words is not a crash; without the
 * launcher ({@code java ... Main}) CPython's own report stays as it is. A hard {@code os._exit} in
 * user code is an ordinary Python error (exit 3).
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
        return calibrateTo(dir.resolve("crashed.pth"), model, data, more);
    }

    private static FaultProcess.Result calibrateTo(Path out, String model, String data, Object... more)
            throws Exception {
        List<Object> args = new java.util.ArrayList<>(List.of("calibrate", "-c", dir.resolve("config_gen.json"), "-P",
                CliHarness.TORCH_PROJECT, "-P", FaultProcess.HELPERS, "-m", model, "--weights", dir.resolve("float.pth"),
                "-d", data, "-n", 2, "-o", out));
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

    /** One error line with {@code fragments}, exit 134, the crash log named outside the user's directory. */
    private static Path crashLog(FaultProcess.Result r, String... fragments) throws Exception {
        r.oneLine(134, fragments);
        assertTrue(r.err().startsWith("error: "), r.err());
        Matcher m = LOG.matcher(r.err());
        assertTrue(m.find(), r.err());
        Path log = Path.of(m.group(1));
        assertTrue(Files.isRegularFile(log), "crash log " + log + " missing");
        assertFalse(log.startsWith(dir), "crash log in the user's directory: " + log);
        assertEquals(List.of(), FaultProcess.litter(dir));
        assertFalse(Files.exists(dir.resolve("crashed.pth")));
        return log;
    }

    @Test
    void abortInTheDataFunctionNamesTheSignal() throws Exception {
        Path log = crashLog(calibrate(TORCH_MODEL, "qb_faults:abort"),
                "error: the process was ended by SIGABRT", "os.abort()", "crash log: ");
        assertTrue(Files.readString(log).contains("ended by SIGABRT, exit code 134"), Files.readString(log));
        Files.delete(log);
    }

    @Test
    void abortWhileImportingOrBuildingTheModel() throws Exception {
        Files.delete(crashLog(calibrate("qb_faults:abort", TORCH_DATA), "error: the process was ended by SIGABRT"));
    }

    @Test
    void fatalPythonErrorGivesItsMessageAndKeepsItsReport() throws Exception {
        FaultProcess.Result r = calibrate(TORCH_MODEL, TORCH_DATA, "--eval", "qb_faults:fatal_python_error");
        Path log = crashLog(r, "error: Fatal Python error: qb_faults: the interpreter state is broken", "SIGABRT");
        String report = Files.readString(log);
        assertTrue(report.contains("Fatal Python error: qb_faults: the interpreter state is broken"), report);
        assertTrue(report.contains("in fatal_python_error"), "no Python traceback in the report:\n" + report);
        Files.delete(log);
    }

    @Test
    void javaMainWithoutTheLauncherLeavesCPythonsReport() throws Exception {
        List<Object> args = List.of("calibrate", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT,
                "-P", FaultProcess.HELPERS, "-m", TORCH_MODEL, "--weights", dir.resolve("float.pth"), "-d", TORCH_DATA,
                "-n", 2, "--eval", "qb_faults:fatal_python_error", "-o", dir.resolve("crashed.pth"));
        FaultProcess.Result r = FaultProcess.run(dir, logs, FaultProcess.java(args.toArray()));
        assertEquals(134, r.code(), r::err);
        assertTrue(r.err().startsWith("Fatal Python error: qb_faults: the interpreter state is broken"), r.err());
        assertFalse(r.err().contains("error: Fatal"), r.err());
        assertFalse(Files.exists(dir.resolve("crashed.pth")));
    }

    @Test
    void theWordsOfAFatalErrorFromUserCodeAreJustOutput() throws Exception {
        FaultProcess.Result r = calibrateTo(dir.resolve("lookalike.pth"), TORCH_MODEL,
                "qb_faults:print_fatal_lookalike");
        assertEquals(0, r.code(), () -> "stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        assertTrue(r.err().contains("Fatal Python error: only words"), r.err());
        assertFalse(r.err().contains("error: Fatal"), r.err());
        Files.delete(dir.resolve("lookalike.pth"));
    }

    @Test
    void osExitInUserCodeIsAPythonError() throws Exception {
        FaultProcess.Result r = calibrate(TORCH_MODEL, "qb_faults:os_exit");
        r.oneLine(3, "error: ", "os._exit(7)", "stopped");
        assertEquals(List.of(), FaultProcess.litter(dir));
        assertFalse(Files.exists(dir.resolve("crashed.pth")));
    }
}
