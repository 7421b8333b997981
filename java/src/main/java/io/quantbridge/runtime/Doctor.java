package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Checks the embedded stack against the pins QuantBridge is built for. */
public final class Doctor {
    private Doctor() {
    }

    /** One line of the report. */
    public record Check(String name, String found, String expected, boolean ok, String fix) { }

    /** All checks; {@link #ok()} when every one passed. */
    public record Report(List<Check> checks) {
        /** True when nothing is missing or mismatched. */
        public boolean ok() {
            return checks.stream().allMatch(Check::ok);
        }

        /** A table for the terminal, with the fix under each failed line. */
        public String format() {
            StringBuilder sb = new StringBuilder("QuantBridge environment (seen from inside the JVM)\n");
            for (Check c : checks) {
                sb.append(String.format("  %-4s %-22s %-28s expected %s%n", c.ok() ? "ok" : "FAIL", c.name(), c.found(), c.expected()));
                if (!c.ok() && c.fix() != null) {
                    sb.append("       fix: ").append(c.fix()).append('\n');
                }
            }
            sb.append(ok() ? "All checks passed.\n" : "Some checks failed.\n");
            return sb.toString();
        }
    }

    /** Starts (or shares) the runtime and checks every pin; never throws for a missing package. */
    public static Report run() {
        List<Check> checks = new ArrayList<>();
        String setup = "run ./quantbridge setup";
        checks.add(new Check("java", System.getProperty("java.version"), "17+", Runtime.version().feature() >= 17,
                "install JDK 17"));
        String jar = PythonEnvironment.jepJarVersion();
        PythonEnvironment env;
        try {
            env = PythonEnvironment.detect();
        } catch (QuantBridgeException e) {
            checks.add(new Check("python environment", "missing", ".venv", false, e.getMessage()));
            return new Report(checks);
        }
        checks.add(new Check("jep (jar)", jar, env.jepNativeVersion(), jar.equals(env.jepNativeVersion()), setup));
        checks.add(new Check("jep (native)", env.jepNativeVersion(), jar, jar.equals(env.jepNativeVersion()), setup));
        Map<String, Object> v;
        try (PythonRuntime rt = PythonRuntime.open(env)) {
            @SuppressWarnings("unchecked")
            Map<String, Object> found = (Map<String, Object>) rt.call("quantbridge.env_info:versions");
            v = new LinkedHashMap<>(found);
        } catch (QuantBridgeException | RuntimeException e) {
            checks.add(new Check("embedded python", "failed", "starts", false, e.getMessage()));
            return new Report(checks);
        }
        checks.add(prefix("python", v, "3.10.", setup));
        checks.add(prefix("torch", v, "1.11.0", setup));
        checks.add(prefix("tensorflow", v, "2.8.", setup));
        checks.add(prefix("onnx", v, "1.14.0", setup));
        checks.add(prefix("onnxruntime", v, "1.15.", setup));
        checks.add(prefix("tf2onnx", v, "1.14.", setup));
        checks.add(prefix("numpy", v, "1.23.", setup));
        checks.add(prefix("protobuf", v, "3.20.", setup));
        checks.add(prefix("scikit-learn", v, "1.3.", setup));
        boolean numpy = Boolean.TRUE.equals(v.get("jep_numpy"));
        checks.add(new Check("jep numpy support", String.valueOf(numpy), "true", numpy,
                "jep was built without numpy; " + setup + " (it rebuilds jep with numpy installed)"));
        checks.add(new Check("python prefix", String.valueOf(v.get("python_prefix")), env.venv().toString(),
                env.venv().toString().equals(String.valueOf(v.get("python_prefix"))), setup));
        return new Report(checks);
    }

    private static Check prefix(String name, Map<String, Object> v, String expected, String fix) {
        String found = String.valueOf(v.getOrDefault(name, "missing"));
        return new Check(name, found.length() > 60 ? found.substring(0, 60) + "..." : found, expected + "*",
                found.startsWith(expected), fix);
    }
}
