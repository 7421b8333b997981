package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import jep.Interpreter;
import jep.JepException;
import jep.MainInterpreter;
import jep.PyConfig;
import jep.SharedInterpreter;

/**
 * The embedded CPython of this JVM: exactly one JEP {@link SharedInterpreter}, created once and
 * owned by one dedicated thread. Any Java thread may call; calls run one at a time on the owner
 * thread and return Java values or throw {@link PythonException}.
 *
 * <p>Opening a second runtime over the same environment shares the interpreter; over a different
 * environment it is refused. {@link #close()} closes this handle; the interpreter itself lives
 * until the JVM exits, because CPython with torch or TensorFlow loaded cannot be restarted safely.
 *
 * <p>Values: Python {@code None, bool, int, float, str} become {@code null, Boolean, Long, Double,
 * String}; lists become {@link List}; dicts with string keys become {@link Map}; numpy arrays
 * become {@link jep.NDArray}; torch tensors become numpy arrays first; anything else stays in
 * Python and arrives as a {@link PyHandle}. Pass {@link jep.DirectNDArray} over a direct buffer to
 * give Python a numpy view of Java memory without a copy.
 */
public final class PythonRuntime implements AutoCloseable {
    private static final Object LOCK = new Object();
    private static final String HANDLE_KEY = "__qb_handle__";
    private static Engine engine;
    private static String startFailure;
    private static boolean startFailureEnvironment;

    private final Engine eng;
    private volatile boolean closed;

    private PythonRuntime(Engine eng) {
        this.eng = eng;
    }

    /** Opens (or shares) the runtime over the detected environment; see {@link PythonEnvironment#detect()}. */
    public static PythonRuntime open() throws QuantBridgeException {
        return open(PythonEnvironment.detect());
    }

    /**
     * Opens the runtime over {@code env}, starting CPython on first use.
     *
     * @throws QuantBridgeException if CPython cannot start
     * @throws IllegalStateException if this JVM already runs CPython from another environment
     */
    public static PythonRuntime open(PythonEnvironment env) throws QuantBridgeException {
        synchronized (LOCK) {
            if (engine == null) {
                if (startFailure != null) {
                    String m = "CPython failed to start earlier in this JVM and cannot be started twice: " + startFailure;
                    throw startFailureEnvironment ? new EnvironmentException(m) : new QuantBridgeException(m);
                }
                try {
                    engine = Engine.start(env);
                } catch (QuantBridgeException | RuntimeException | Error e) {
                    startFailure = e.getMessage();
                    startFailureEnvironment = e instanceof EnvironmentException;
                    throw e;
                }
            } else if (!engine.env.venv().equals(env.venv())) {
                throw new IllegalStateException("This JVM already runs CPython from " + engine.env.venv()
                        + "; a second runtime over " + env.venv() + " is refused (one interpreter per JVM): "
                        + "open the runtime with the same environment to share it");
            }
            engine.handles.incrementAndGet();
            return new PythonRuntime(engine);
        }
    }

    /**
     * Ends this process with {@code code} at once, from any thread, even while the Python owner
     * thread is inside torch or TensorFlow: a Python thread calls {@code os._exit} (no destructor
     * runs, nothing waits for the busy thread). Without a started interpreter, or if that does not
     * end the process within two seconds, {@link Runtime#halt} does. Never returns.
     */
    public static void haltProcess(int code) {
        Engine e;
        synchronized (LOCK) {
            e = engine;
        }
        if (e != null && e.exitFd >= 0) {
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(Path.of("/proc/self/fd/" + e.exitFd),
                    java.nio.file.StandardOpenOption.WRITE)) {
                out.write(code & 0xff);
                out.flush();
                Thread.sleep(2000);
            } catch (java.io.IOException | RuntimeException ignored) {
                // no /proc or no pipe: halt below
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
        Runtime.getRuntime().halt(code);
    }

    /** The environment this runtime runs in. */
    public PythonEnvironment environment() {
        return eng.env;
    }

    /** The Python version string ({@code 3.10.13}). */
    public String pythonVersion() {
        return eng.pythonVersion;
    }

    /** Puts directories at the front of {@code sys.path} (the user's project, say). */
    public void addPythonPath(Path... paths) throws QuantBridgeException {
        List<String> list = new ArrayList<>();
        for (Path p : paths) {
            list.add(p.toAbsolutePath().normalize().toString());
        }
        invokeBridge("_qb_add_paths", list);
    }

    /** Imports a module (raising its ImportError as {@link PythonException}). */
    public void importModule(String module) throws QuantBridgeException {
        if (call("importlib:import_module", module) instanceof PyHandle h) {
            h.close();   // the module stays in sys.modules; Java needs no handle to it
        }
    }

    /** Calls {@code package.module:function} with positional arguments. */
    public Object call(String target, Object... args) throws QuantBridgeException {
        return call(target, Arrays.asList(args), Map.of(), null);
    }

    /**
     * Calls {@code package.module:function}.
     *
     * @param listener receives the function's progress events; may be null
     */
    public Object call(String target, List<?> args, Map<String, ?> kwargs, ProgressListener listener)
            throws QuantBridgeException {
        requireTarget(target);
        return invokeBridge("_qb_call", target, toPython(args), toPython(kwargs), new EventSink(listener, eng.owner));
    }

    /** Calls a method of a Python object held by {@code handle}. */
    public Object callMethod(PyHandle handle, String method, Object... args) throws QuantBridgeException {
        return callMethod(handle, method, Arrays.asList(args), Map.of(), null);
    }

    /** Calls a method of a Python object held by {@code handle}, with keywords and progress. */
    public Object callMethod(PyHandle handle, String method, List<?> args, Map<String, ?> kwargs,
                             ProgressListener listener) throws QuantBridgeException {
        handle.checkOpen();
        return invokeBridge("_qb_call_method", handle.id(), method, toPython(args), toPython(kwargs),
                new EventSink(listener, eng.owner));
    }

    /** Reads an attribute of a Python object held by {@code handle}. */
    public Object getAttr(PyHandle handle, String name) throws QuantBridgeException {
        handle.checkOpen();
        return invokeBridge("_qb_get_attr", handle.id(), name);
    }

    /** Executes Python source in {@code __main__}; {@code sys.exit} inside becomes an exception. */
    public void exec(String source) throws QuantBridgeException {
        invokeBridge("_qb_run_code", source);
    }

    /**
     * How many Python objects are held for Java right now (after releasing those whose
     * {@link PyHandle}s were closed or collected).
     */
    public long liveHandles() throws QuantBridgeException {
        return ((Number) invokeBridge("_qb_live_handles")).longValue();
    }

    /** Runs a task on the Python owner thread (for batching several calls). */
    public <T> T onPythonThread(Callable<T> task) throws QuantBridgeException {
        checkOpen();
        return eng.owner.run(task);
    }

    /**
     * The action that releases Python object {@code id}: it only queues the id, and the owner
     * thread releases it before its next call, so it never blocks (a {@link java.lang.ref.Cleaner}
     * runs it when a handle becomes unreachable).
     */
    Runnable releaser(long id) {
        Engine e = eng;
        return () -> e.pendingReleases.add(id);
    }

    /** True once {@link #close()} ran on this handle. */
    public boolean isClosed() {
        return closed;
    }

    /** Closes this handle; safe to call twice. The interpreter stays for other handles and JVM reuse. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        eng.handles.decrementAndGet();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("PythonRuntime is closed");
        }
    }

    private static void requireTarget(String target) {
        int colon = target == null ? -1 : target.indexOf(':');
        if (colon <= 0 || colon == target.length() - 1) {
            throw new IllegalArgumentException("Expected a Python target 'package.module:function', got '" + target + "'");
        }
    }

    private Object invokeBridge(String fn, Object... args) throws QuantBridgeException {
        checkOpen();
        Object raw = eng.owner.run(() -> {
            try {
                return eng.interp.invoke(fn, args);
            } catch (JepException e) {
                throw eng.translate(e);
            }
        });
        return fromPython(raw);
    }

    private Object toPython(Object v) {
        if (v instanceof PyHandle h) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put(HANDLE_KEY, h.id());
            return m;
        }
        if (v instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, val) -> out.put(String.valueOf(k), toPython(val)));
            return out;
        }
        if (v instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(x -> out.add(toPython(x)));
            return out;
        }
        if (v instanceof Path p) {
            return p.toString();
        }
        return v;
    }

    private Object fromPython(Object v) {
        if (v instanceof Map<?, ?> map) {
            Object id = map.get(HANDLE_KEY);
            if (id instanceof Number n) {
                return new PyHandle(this, n.longValue(), String.valueOf(map.get("__qb_type__")),
                        String.valueOf(map.get("__qb_repr__")));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, val) -> out.put(String.valueOf(k), fromPython(val)));
            return out;
        }
        if (v instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(x -> out.add(fromPython(x)));
            return out;
        }
        if (v instanceof Integer i) {
            return i.longValue();
        }
        return v;
    }

    /** The interpreter and its owner thread; one per JVM. */
    private static final class Engine {
        final PythonEnvironment env;
        final OwnerThread owner;
        final AtomicInteger handles = new AtomicInteger();
        final ConcurrentLinkedQueue<Long> pendingReleases = new ConcurrentLinkedQueue<>();
        volatile boolean dead;
        Interpreter interp;
        String pythonVersion;
        volatile int exitFd = -1;

        private Engine(PythonEnvironment env) {
            this.env = env;
            this.owner = new OwnerThread("quantbridge-python", this::releasePending);
        }

        /** On the owner thread, before each call: drop the objects of closed or collected handles. */
        private void releasePending() {
            if (interp == null || dead) {
                return;
            }
            for (Long id = pendingReleases.poll(); id != null; id = pendingReleases.poll()) {
                try {
                    interp.invoke("_qb_release", id);
                } catch (JepException e) {
                    // best effort: the object is collected with the interpreter at worst
                }
            }
        }

        static Engine start(PythonEnvironment env) throws QuantBridgeException {
            env.checkJepVersions();
            Engine e = new Engine(env);
            e.owner.run(() -> {
                e.init();
                return null;
            });
            return e;
        }

        private void init() throws QuantBridgeException {
            // libjep.so needs libpython3.10.so.1.0: load it first, by absolute path, so no
            // LD_LIBRARY_PATH or LD_PRELOAD is needed; Python then promotes it to RTLD_GLOBAL.
            System.load(env.libpython().toString());
            MainInterpreter.setJepLibraryPath(env.jepLibrary().toString());
            // The user's PYTHONPATH/PYTHONHOME must not leak in: the venv is the whole world.
            PyConfig cfg = PyConfig.python()
                    .setProgramName(env.pythonExecutable().toString())
                    .setHome(env.basePrefix().toString())
                    .setUseEnvironment(false)
                    .setUserSiteDirectory(false)
                    .setArgv("quantbridge");
            MainInterpreter.setInitParams(cfg);
            try {
                interp = new SharedInterpreter();
                java.util.Optional<Path> shimDir = shimSource();
                if (shimDir.isEmpty()) {
                    shimDir = ShimInstaller.install();
                }
                String shim = shimDir.map(p -> "sys.path.insert(0, " + pyStr(p.toString()) + ")\n").orElse("");
                interp.exec("import site, sys\n"
                        + "site.addsitedir(" + pyStr(env.sitePackages().toString()) + ")\n"
                        + shim
                        + "sys.prefix = sys.exec_prefix = " + pyStr(env.venv().toString()) + "\n"
                        + "from quantbridge._bridge import bootstrap as _qb_bootstrap, call as _qb_call, "
                        + "call_method as _qb_call_method, get_attr as _qb_get_attr, run_code as _qb_run_code, "
                        + "release as _qb_release, live_handles as _qb_live_handles, add_paths as _qb_add_paths, "
                        + "last_error as _qb_last_error, exit_fd as _qb_exit_fd\n");
                Object info = interp.invoke("_qb_bootstrap", new ArrayList<String>());
                if (!Boolean.getBoolean("quantbridge.rawOutput")) {
                    interp.exec("from quantbridge._logging import install as _qb_log_install\n");
                    interp.invoke("_qb_log_install", new PythonLog());
                }
                exitFd = ((Number) interp.invoke("_qb_exit_fd")).intValue();
                pythonVersion = String.valueOf(((Map<?, ?>) info).get("python"));
                checkShimVersion(String.valueOf(interp.getValue("__import__('quantbridge').__version__")),
                        String.valueOf(interp.getValue("__import__('quantbridge').__file__")));
            } catch (JepException e) {
                dead = true;
                throw new EnvironmentException("CPython started but QuantBridge's bridge did not load from "
                        + env.venv() + ": " + e.getMessage() + "; " + Setup.advice(), e);
            }
        }

        /**
         * The shim of the QuantBridge checkout this JVM runs from ({@code quantbridge.home} or
         * {@code QUANTBRIDGE_HOME}), so that the Java and Python halves always come from one tree
         * even when the venv's editable install points elsewhere.
         */
        private static java.util.Optional<Path> shimSource() {
            String home = System.getProperty("quantbridge.home");
            if (home == null || home.isBlank()) {
                home = System.getenv("QUANTBRIDGE_HOME");
            }
            if (home == null || home.isBlank()) {
                return java.util.Optional.empty();
            }
            Path shim = Path.of(home).toAbsolutePath().normalize().resolve("python-shim");
            return java.nio.file.Files.isRegularFile(shim.resolve("quantbridge").resolve("__init__.py"))
                    ? java.util.Optional.of(shim) : java.util.Optional.empty();
        }

        /** The shim must be the one built with this jar (the same version); otherwise nothing fits. */
        private void checkShimVersion(String shim, String where) throws QuantBridgeException {
            String java = io.quantbridge.Version.current().replace("-SNAPSHOT", "");
            if (!java.equals("unknown") && !shim.equals(java)) {
                dead = true;
                throw new QuantBridgeException("the Python shim loaded from " + where + " is version " + shim
                        + " but this QuantBridge jar is " + java + "; use the shim that ships in the jar (unset "
                        + "quantbridge.home / QUANTBRIDGE_HOME) or a checkout of the same version");
            }
        }

        private static String pyStr(String s) {
            return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
        }

        QuantBridgeException translate(JepException e) {
            try {
                Object err = interp.invoke("_qb_last_error");
                if (err instanceof Map<?, ?> m) {
                    String type = String.valueOf(m.get("type"));
                    if (type.equals("quantbridge.errors.Cancelled")) {
                        OwnerThread.Call<?> call = owner.current();
                        Throwable cause = call == null ? null : call.listenerFailure;
                        return new CancelledException("stopped: " + m.get("message"), cause != null ? cause : e);
                    }
                    return new PythonException(type, String.valueOf(m.get("message")),
                            String.valueOf(m.get("traceback")), e);
                }
            } catch (JepException ignored) {
                // fall through to the raw message
            }
            return new PythonException("JepException", String.valueOf(e.getMessage()), "", e);
        }
    }
}
