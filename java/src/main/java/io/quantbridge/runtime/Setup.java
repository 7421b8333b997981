package io.quantbridge.runtime;

/**
 * The fix to name when the Python environment is missing or incomplete. Inside a QuantBridge
 * checkout (the launcher sets {@code quantbridge.home} or {@code QUANTBRIDGE_HOME}) it is
 * {@code ./quantbridge setup}; inside a project that depends on the QuantBridge jar it is how
 * to make and name a venv, since there is no launcher there.
 */
public final class Setup {
    private Setup() {
    }

    /** True when this JVM runs from a QuantBridge checkout (through its launcher or its tests). */
    public static boolean inCheckout() {
        String home = System.getProperty("quantbridge.home");
        if (home == null || home.isBlank()) {
            home = System.getenv("QUANTBRIDGE_HOME");
        }
        return home != null && !home.isBlank()
                && java.nio.file.Files.isRegularFile(java.nio.file.Path.of(home, "quantbridge"));
    }

    /** The advice for the whole environment: {@code "run ./quantbridge setup"} or the consumer's steps. */
    public static String advice() {
        if (inCheckout()) {
            return "run ./quantbridge setup";
        }
        return "create the Python environment once (in a QuantBridge checkout: ./quantbridge setup, then use its "
                + ".venv; or a CPython 3.10 venv with the jar's io/quantbridge/shim/requirements.lock and "
                + "'pip install --no-binary jep jep==4.3.1') and name it with PythonEnvironment.of(dir), "
                + "-Dquantbridge.venv=DIR or QUANTBRIDGE_VENV=DIR";
    }
}
