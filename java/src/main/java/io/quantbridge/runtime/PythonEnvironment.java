package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the embedded CPython lives: the virtual environment made by {@code ./quantbridge setup},
 * its base interpreter, the shared libpython and jep's native library.
 *
 * <p>The venv is found, in order, from the system property {@code quantbridge.venv}, the
 * environment variable {@code QUANTBRIDGE_VENV}, {@code <quantbridge.home>/.venv} and
 * {@code ./.venv}.
 */
public record PythonEnvironment(Path venv, Path basePrefix, Path libpython, Path sitePackages,
                                Path jepLibrary, String jepNativeVersion) {

    private static final String PY = "python3.10";
    private static final Pattern HOME = Pattern.compile("(?m)^\\s*home\\s*=\\s*(.+?)\\s*$");
    private static final Pattern JEP_VERSION = Pattern.compile("__VERSION__\\s*=\\s*['\"]([^'\"]+)['\"]");

    /** Locates the environment from properties, environment variables and the working directory. */
    public static PythonEnvironment detect() throws QuantBridgeException {
        String venv = System.getProperty("quantbridge.venv");
        if (blank(venv)) {
            venv = System.getenv("QUANTBRIDGE_VENV");
        }
        if (blank(venv) && !blank(System.getProperty("quantbridge.home"))) {
            venv = Path.of(System.getProperty("quantbridge.home"), ".venv").toString();
        }
        if (blank(venv) && !blank(System.getenv("QUANTBRIDGE_HOME"))) {
            venv = Path.of(System.getenv("QUANTBRIDGE_HOME"), ".venv").toString();
        }
        if (blank(venv)) {
            venv = ".venv";
        }
        return of(Path.of(venv));
    }

    /**
     * Reads the environment at {@code venv}.
     *
     * @throws QuantBridgeException if it is not a complete QuantBridge environment, saying what to run
     */
    public static PythonEnvironment of(Path venv) throws QuantBridgeException {
        Path root = venv.toAbsolutePath().normalize();
        Path cfg = root.resolve("pyvenv.cfg");
        if (!Files.isRegularFile(cfg)) {
            throw new EnvironmentException("No Python environment at " + root
                    + " (expected a virtual environment with pyvenv.cfg); " + Setup.advice());
        }
        String text = read(cfg);
        Matcher m = HOME.matcher(text);
        if (!m.find()) {
            throw new EnvironmentException(cfg + " has no 'home = ...' line; remove " + root + " and " + Setup.advice());
        }
        Path base = Path.of(m.group(1)).getParent();
        Path lib = findLibpython(root, base);
        Path site = root.resolve("lib").resolve(PY).resolve("site-packages");
        Path jepDir = site.resolve("jep");
        Path jepLib = jepDir.resolve("libjep.so");
        if (!Files.exists(jepLib)) {
            throw new EnvironmentException("jep's native library is missing at " + jepLib + "; " + Setup.advice());
        }
        Matcher v = JEP_VERSION.matcher(read(jepDir.resolve("version.py")));
        String nativeVersion = v.find() ? v.group(1) : "unknown";
        return new PythonEnvironment(root, base, lib, site, jepLib, nativeVersion);
    }

    /**
     * The shared libpython: where setup recorded it ({@code quantbridge-libpython} in the venv,
     * from sysconfig's LIBDIR/INSTSONAME), else {@code <base>/lib} or its Debian multiarch directory.
     */
    private static Path findLibpython(Path venv, Path base) throws QuantBridgeException {
        List<Path> candidates = new ArrayList<>();
        Path recorded = venv.resolve("quantbridge-libpython");
        if (Files.isRegularFile(recorded)) {
            String line = read(recorded).strip();
            if (!line.isEmpty()) {
                candidates.add(Path.of(line));
            }
        }
        for (Path dir : List.of(base.resolve("lib"), base.resolve("lib").resolve("x86_64-linux-gnu"),
                base.resolve("lib").resolve("aarch64-linux-gnu"))) {
            candidates.add(dir.resolve("libpython3.10.so.1.0"));
            candidates.add(dir.resolve("libpython3.10.so"));
        }
        for (Path c : candidates) {
            if (Files.exists(c)) {
                return c;
            }
        }
        throw new QuantBridgeException("The base Python of " + venv + " (" + base + ") has no shared libpython3.10 (looked at "
                + candidates + "); JEP needs a CPython 3.10 built with --enable-shared");
    }

    /** The version of the jep jar on the class path ({@code org.ninia:jep}). */
    public static String jepJarVersion() {
        try (InputStream in = jep.Jep.class.getResourceAsStream("/META-INF/maven/org.ninia/jep/pom.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The interpreter executable of the venv, used as CPython's program name. */
    public Path pythonExecutable() {
        return venv.resolve("bin").resolve("python");
    }

    /**
     * Fails unless the jep jar and the native library are the same version.
     *
     * @throws QuantBridgeException naming both versions and the fix
     */
    public void checkJepVersions() throws QuantBridgeException {
        String jar = jepJarVersion();
        if (!jar.equals(jepNativeVersion)) {
            throw new EnvironmentException("jep version mismatch: the jar on the class path is " + jar
                    + " but the native library in " + jepLibrary.getParent() + " is " + jepNativeVersion
                    + "; rebuild jep " + jar + ": " + Setup.advice());
        }
    }

    private static String read(Path p) throws QuantBridgeException {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new QuantBridgeException("Cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
