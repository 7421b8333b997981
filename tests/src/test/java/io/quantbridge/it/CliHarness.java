package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;

/** Runs the command line in-process as a user would type it, with stdout and stderr captured. */
final class CliHarness {
    /** The example user projects. */
    static final Path TORCH_PROJECT = Runtimes.home().resolve("tests/projects/torch_project");
    static final Path TF_PROJECT = Runtimes.home().resolve("tests/projects/tf_project");
    static final Path KERAS_PROJECT = Runtimes.home().resolve("tests/projects/keras_project");

    private CliHarness() {
    }

    /** The exit code and what was printed. */
    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }

        /** Asserts the exit code, printing both streams when it differs. */
        Result expect(int expected) {
            assertEquals(expected, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }

        /** Asserts a failure with exactly one {@code error:} line on stderr containing every fragment. */
        Result oneError(int expected, String... fragments) {
            expect(expected);
            assertEquals(1, errLines().size(), () -> "expected one error line, got:\n" + err);
            assertTrue(err.startsWith("error: "), err);
            for (String f : fragments) {
                assertTrue(err.contains(f), () -> "stderr lacks '" + f + "':\n" + err);
            }
            return this;
        }
    }

    /** Runs {@code quantbridge args...}. */
    static Result run(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] argv = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            argv[i] = String.valueOf(args[i]);
        }
        int code = cl.execute(argv);
        return new Result(code, out.toString(), err.toString());
    }
}
