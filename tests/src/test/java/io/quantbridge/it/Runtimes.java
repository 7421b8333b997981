package io.quantbridge.it;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;

/** Opens the shared runtime for the tests, with the test helpers on sys.path. */
final class Runtimes {
    private Runtimes() {
    }

    static Path home() {
        String home = System.getProperty("quantbridge.home");
        return home == null ? Path.of("..").toAbsolutePath().normalize() : Path.of(home);
    }

    static PythonRuntime open() throws QuantBridgeException {
        PythonRuntime rt = PythonRuntime.open();
        rt.addPythonPath(home().resolve("tests/src/test/python"));
        return rt;
    }
}
