package io.quantbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.runtime.EnvironmentException;
import io.quantbridge.runtime.PythonException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The exit code comes from the type of the exception that ended the command, not from its words. */
class ExitCodesTest {
    private final ExitCodes codes = new ExitCodes();

    @Test
    void eachTypeHasItsCode() {
        assertEquals(4, codes.getExitCode(new EnvironmentException("jep's native library is missing; run ./quantbridge setup")));
        assertEquals(2, codes.getExitCode(new QuantBridgeException("mentions quantbridge setup but is bad input")));
        assertEquals(2, codes.getExitCode(new ConfigException("layer 'x' is not in the model")));
        assertEquals(2, codes.getExitCode(new IllegalArgumentException("--model is required")));
        assertEquals(5, codes.getExitCode(new PythonException("quantbridge.errors.DivergedError", "NaN", "", null)));
        for (String input : new String[] {"ConfigError", "PathError", "ModelError", "CheckpointError", "DataError"}) {
            assertEquals(2, codes.getExitCode(new PythonException("quantbridge.errors." + input, "m", "", null)), input);
        }
        assertEquals(3, codes.getExitCode(new PythonException("TypeError", "run ./quantbridge setup", "", null)));
        assertEquals(1, codes.getExitCode(new IllegalStateException("a bug")));
        assertEquals(2, codes.getExitCode(new CommandLine.ParameterException(Main.commandLine(), "bad")));
    }

    @Test
    void aMissingEnvironmentExitsFourWithOneLine(@TempDir Path dir) throws Exception {
        Path notAVenv = Files.createDirectory(dir.resolve("no_venv"));
        String before = System.getProperty("quantbridge.venv");
        System.setProperty("quantbridge.venv", notAVenv.toString());
        try {
            CommandLine cl = Main.commandLine();
            StringWriter err = new StringWriter();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute("config", "--framework", "torch", "-m", "my_project.models:build",
                    "--input-shape", "x:1,3,8,8", "-o", dir.resolve("c.json").toString());
            assertEquals(4, code, err.toString());
            assertEquals(1, err.toString().lines().count(), err.toString());
            assertTrue(err.toString().startsWith("error: No Python environment at " + notAVenv), err.toString());
            assertTrue(Files.notExists(dir.resolve("c.json")));
        } finally {
            if (before == null) {
                System.clearProperty("quantbridge.venv");
            } else {
                System.setProperty("quantbridge.venv", before);
            }
        }
    }
}
