package io.quantbridge.service;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.OwnerTag;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.CancelledException;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.PythonEnvironment;
import io.quantbridge.runtime.PythonException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One job in one worker JVM, seen from the service: start the worker, hand it the job, follow
 * its messages and output, enforce the timeout, the memory limit and cancellation (a
 * {@code cancel} message, then a kill after the grace period), and turn the way it ended into a
 * result or one clear exception. Runs on the calling thread; interrupting it cancels the job.
 */
final class WorkerProcess {
    private static final long POLL_MS = 50;
    private static final int TAIL_LINES = 60;
    private static final org.slf4j.Logger OUT = org.slf4j.LoggerFactory.getLogger("python.stdout");
    private static final org.slf4j.Logger ERR = org.slf4j.LoggerFactory.getLogger("python.stderr");

    private final ServiceOptions options;
    private final JobLimits limits;
    private final QuantJob job;
    private final JobListener listener;
    private final Deque<String> tail = new ArrayDeque<>();
    private volatile JsonNode outcome;
    private volatile String stopReason;
    private volatile Throwable listenerFailure;
    private Wire wire;

    WorkerProcess(ServiceOptions options, JobLimits limits, QuantJob job, JobListener listener) {
        this.options = options;
        this.limits = limits;
        this.job = job;
        this.listener = listener == null ? JobListener.NONE : listener;
    }

    JobResult run() throws QuantBridgeException {
        Path dir;
        try {
            dir = Files.createTempDirectory("quantbridge-worker-");
        } catch (IOException e) {
            throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, -1,
                    "cannot create a temporary directory for the worker: " + e.getMessage());
        }
        Set<Path> stagingBefore = staging(job.outDir());
        boolean keepDir = false;
        Process p = null;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            Path socket = dir.resolve("w.sock");
            server.bind(UnixDomainSocketAddress.of(socket));
            p = start(dir, socket);
            follow(p.getInputStream(), "stdout");
            follow(p.getErrorStream(), "stderr");
            SocketChannel ch = accept(server, p);
            wire = new Wire(ch);
            wire.send(Wire.message("job").set("job", Wire.JSON.valueToTree(job)));
            Thread reader = new Thread(this::readMessages, "quantbridge-worker-messages");
            reader.setDaemon(true);
            reader.start();
            End end = supervise(p);
            reader.join(5000);
            JobResult r = conclude(p, end, dir);
            return r;
        } catch (WorkerFailedException e) {
            keepDir = e.reason() == WorkerFailedException.Reason.CRASHED && hasErrorFile(dir);
            throw e;
        } catch (IOException e) {
            throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, -1,
                    "the worker channel failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("cancelled while the worker started", null);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
            if (wire != null) {
                wire.close();
            }
            if (p != null && (outcome == null || !"result".equals(outcome.path("type").asText()))) {
                try {
                    p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);   // it must stop writing first
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                removeNewStaging(job.outDir(), stagingBefore, p.pid());
            }
            if (!keepDir) {
                deleteTree(dir);
            }
        }
    }

    private Process start(Path dir, Path socket) throws WorkerFailedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("-Xmx" + options.heap());
        cmd.add("-Xss8m");
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_%p.log"));
        cmd.add("-XX:-CreateCoredumpOnCrash");
        cmd.add("-XX:+UseSerialGC");
        // Python's output stays on the worker's stdout and stderr, which this side reads line by line.
        cmd.add("-Dquantbridge.rawOutput=true");
        Path venv = options.venv();
        if (venv == null) {
            try {
                venv = PythonEnvironment.detect().venv();
            } catch (QuantBridgeException e) {
                throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, -1, e.getMessage());
            }
        }
        cmd.add("-Dquantbridge.venv=" + venv);
        for (String prop : List.of("quantbridge.home", "quantbridge.shim")) {
            String v = System.getProperty(prop);
            if (v != null) {
                cmd.add("-D" + prop + "=" + v);
            }
        }
        cmd.addAll(options.jvmArgs());
        cmd.add("-cp");
        cmd.add(absolute(options.classPath() != null ? options.classPath() : System.getProperty("java.class.path")));
        cmd.add(WorkerMain.class.getName());
        cmd.add(socket.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        Map<String, String> env = pb.environment();
        env.putIfAbsent("TF_CPP_MIN_LOG_LEVEL", "2");
        if (limits.threads() > 0) {
            String n = Integer.toString(limits.threads());
            for (String k : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")) {
                env.put(k, n);
            }
        }
        try {
            return pb.start();
        } catch (IOException e) {
            throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, -1,
                    "cannot start the worker JVM (" + cmd.get(0) + "): " + e.getMessage());
        }
    }

    /** The class path with relative entries made absolute: the worker runs in its own directory. */
    static String absolute(String classPath) {
        List<String> out = new ArrayList<>();
        for (String e : classPath.split(java.io.File.pathSeparator)) {
            if (!e.isEmpty()) {
                out.add(Path.of(e).isAbsolute() ? e : Path.of(e).toAbsolutePath().normalize().toString());
            }
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private SocketChannel accept(ServerSocketChannel server, Process p) throws IOException, InterruptedException,
            WorkerFailedException {
        server.configureBlocking(false);
        long deadline = System.nanoTime() + options.startTimeout().toNanos();
        while (true) {
            SocketChannel ch = server.accept();
            if (ch != null) {
                ch.configureBlocking(true);
                return ch;
            }
            if (!p.isAlive()) {
                throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, p.exitValue(),
                        "the worker JVM exited with code " + p.exitValue() + " before it connected" + tailText());
            }
            if (System.nanoTime() > deadline) {
                throw new WorkerFailedException(WorkerFailedException.Reason.START_FAILED, -1,
                        "the worker JVM did not connect within " + options.startTimeout().toSeconds() + " s" + tailText());
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Thread.sleep(10);
        }
    }

    /** How supervision ended, when not by the worker's own exit. */
    private enum End { EXITED, CANCELLED, TIMED_OUT, MEMORY }

    private End supervise(Process p) throws IOException {
        long start = System.nanoTime();
        long timeoutAt = start + limits.timeout().toNanos();
        long killAt = Long.MAX_VALUE;
        End end = End.EXITED;
        long rssOver = 0;
        while (true) {
            try {
                if (p.waitFor(POLL_MS, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    break;
                }
            } catch (InterruptedException e) {
                if (end == End.EXITED) {
                    end = End.CANCELLED;
                    cancel("cancelled by the caller");
                    killAt = System.nanoTime() + options.grace().toNanos();
                }
                continue;
            }
            long now = System.nanoTime();
            if (end == End.EXITED && stopReason != null) {
                end = End.CANCELLED;
                cancel(stopReason);
                killAt = now + options.grace().toNanos();
            }
            if (end == End.EXITED && now > timeoutAt) {
                end = End.TIMED_OUT;
                cancel("timed out after " + seconds(limits.timeout().toMillis()));
                killAt = now + options.grace().toNanos();
            }
            if (limits.memoryLimitBytes() > 0) {
                long rss = Rss.of(p.pid());
                if (rss > limits.memoryLimitBytes()) {
                    rssOver = rss;
                    end = End.MEMORY;
                    p.destroyForcibly();
                    tail("quantbridge: worker RSS " + mib(rss) + " over the limit " + mib(limits.memoryLimitBytes()));
                }
            }
            if (now > killAt) {
                p.destroyForcibly();
                killAt = Long.MAX_VALUE;
                killedAfterGrace = true;
            }
        }
        memoryAtKill = rssOver;
        return end;
    }

    private volatile boolean killedAfterGrace;
    private long memoryAtKill;

    private void cancel(String reason) {
        try {
            wire.send(Wire.message("cancel").put("reason", reason));
        } catch (IOException e) {
            // the worker is already gone; supervision sees its exit
        }
    }

    private JobResult conclude(Process p, End end, Path dir) throws QuantBridgeException {
        int code = p.exitValue();
        JsonNode m = outcome;
        String type = m == null ? "" : m.path("type").asText();
        if (end == End.MEMORY) {
            throw new WorkerFailedException(WorkerFailedException.Reason.MEMORY_LIMIT, code, "the job's worker used "
                    + mib(memoryAtKill) + " of resident memory, over the limit of " + mib(limits.memoryLimitBytes())
                    + ", and was killed; the job failed (raise the job's memory limit, JobLimits or ServiceOptions, or use less memory)");
        }
        if (end == End.TIMED_OUT && !"result".equals(type)) {
            throw new WorkerFailedException(WorkerFailedException.Reason.TIMED_OUT, code, "the job timed out after "
                    + seconds(limits.timeout().toMillis()) + (killedAfterGrace
                    ? "; it did not stop within the grace period of " + seconds(options.grace().toMillis())
                    + " (no progress event reached Python's stop check) and its worker was killed"
                    : "; it stopped at its next progress event"));
        }
        if (end == End.CANCELLED && !"result".equals(type)) {
            String why = stopReason != null ? stopReason : "cancelled by the caller";
            throw new CancelledException("stopped: " + why + (killedAfterGrace
                    ? " (the worker did not stop within " + seconds(options.grace().toMillis()) + " and was killed)" : ""),
                    listenerFailure);
        }
        if ("result".equals(type)) {
            return result(m);
        }
        if ("error".equals(type)) {
            throw error(m);
        }
        throw crash(code, dir);
    }

    private JobResult result(JsonNode m) throws QuantBridgeException {
        QuantParams params = ParamFile.parse(m.path("params").asText(), "the worker's result");
        List<Path> files = new ArrayList<>();
        m.path("files").forEach(f -> files.add(Path.of(f.asText())));
        Map<String, Object> train = Wire.JSON.convertValue(m.path("trainResult"),
                new TypeReference<LinkedHashMap<String, Object>>() { });
        return new JobResult(params, files, m.path("calibratedBatches").asLong(), train);
    }

    private QuantBridgeException error(JsonNode m) {
        String message = m.path("message").asText();
        return switch (m.path("kind").asText()) {
            case "python" -> new PythonException(m.path("pythonType").asText(), m.path("pythonMessage").asText(),
                    m.path("traceback").asText(), null);
            case "cancelled" -> new CancelledException(message, listenerFailure);
            case "argument" -> throw new IllegalArgumentException(message);
            default -> new QuantBridgeException(message);
        };
    }

    private WorkerFailedException crash(int code, Path dir) {
        String fatal = fatalError();
        if (code > 128 || !fatal.isEmpty()) {
            String signal = code > 128 ? Signals.name(code - 128) : "";
            String what = !fatal.isEmpty() ? fatal
                    : "killed by signal " + signal + (signal.equals("SIGKILL")
                    ? " (the system's out-of-memory killer, or another process)" : "");
            String err = errorFile(dir);
            return new WorkerFailedException(WorkerFailedException.Reason.CRASHED, code,
                    "the job's worker crashed: " + what + " (exit status " + code + ")"
                            + (err.isEmpty() ? "" : "; crash report " + err) + tailText());
        }
        return new WorkerFailedException(WorkerFailedException.Reason.EXITED, code,
                "the job's worker exited with code " + code + " before the job finished (user code called "
                        + "os._exit() or exit(), or the process was ended)" + tailText());
    }

    /** The JVM's fatal error banner ({@code SIGSEGV (0xb) at pc=...}, problematic frame), if it printed one. */
    private String fatalError() {
        List<String> lines;
        synchronized (tail) {
            lines = List.copyOf(tail);
        }
        String sig = "";
        String frame = "";
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (sig.isEmpty() && l.startsWith("#  SIG")) {
                sig = l.substring(3).trim();
            }
            if (l.startsWith("# Problematic frame:") && i + 1 < lines.size()) {
                frame = lines.get(i + 1).substring(1).trim();
            }
        }
        if (sig.isEmpty()) {
            return "";
        }
        String name = sig.split(" ")[0];
        return "fatal signal " + name + " in native code (" + sig + ")" + (frame.isEmpty() ? "" : ", problematic frame " + frame);
    }

    private void readMessages() {
        try {
            for (JsonNode m = wire.read(); m != null; m = wire.read()) {
                String type = m.path("type").asText();
                if (type.equals("progress")) {
                    progress(m);
                } else if (type.equals("result") || type.equals("error")) {
                    outcome = m;
                }
            }
        } catch (IOException e) {
            // the worker died: supervision sees its exit and names the cause
        }
    }

    private void progress(JsonNode m) {
        Map<String, Object> metrics = Wire.JSON.convertValue(m.path("metrics"),
                new TypeReference<LinkedHashMap<String, Object>>() { });
        ProgressEvent e = new ProgressEvent(m.path("phase").asText(), m.path("current").asLong(),
                m.path("total").asLong(), Map.copyOf(metrics));
        try {
            if (!listener.onProgress(e) && stopReason == null) {
                stopReason = "the listener asked to stop at " + e.phase() + " " + e.current() + "/" + e.total();
            }
        } catch (RuntimeException | Error x) {
            if (stopReason == null) {
                listenerFailure = x;
                stopReason = "the progress listener threw " + x;
            }
        }
    }

    private void follow(InputStream stream, String name) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    tail(line);
                    if (name.equals("stdout")) {
                        OUT.info(line);
                    } else {
                        ERR.warn(line);
                    }
                    try {
                        listener.onLog(name, line);
                    } catch (RuntimeException e) {
                        // a broken log listener must not lose the worker's output stream
                    }
                }
            } catch (IOException e) {
                // the worker ended
            }
        }, "quantbridge-worker-" + name);
        t.setDaemon(true);
        t.start();
    }

    private void tail(String line) {
        synchronized (tail) {
            tail.addLast(line);
            while (tail.size() > TAIL_LINES) {
                tail.removeFirst();
            }
        }
    }

    private String tailText() {
        List<String> lines;
        synchronized (tail) {
            lines = List.copyOf(tail);
        }
        List<String> last = lines.subList(Math.max(0, lines.size() - 8), lines.size());
        return last.isEmpty() ? "" : "; its last output:\n  " + String.join("\n  ", last);
    }

    /** The temporaries in {@code outDir} that carry an owner tag ({@code .qb-PID-START-*}, see {@link OwnerTag}). */
    static Set<Path> staging(Path outDir) {
        try (Stream<Path> s = Files.list(outDir)) {
            return s.filter(p -> OwnerTag.parse(p.getFileName().toString()).isPresent()).collect(Collectors.toSet());
        } catch (IOException e) {
            return Set.of();
        }
    }

    /**
     * A killed worker cannot clean up: remove the staging directories and temporary files it
     * ({@code workerPid}) left in the output directory since {@code before}; nobody else's.
     */
    static void removeNewStaging(Path outDir, Set<Path> before, long workerPid) {
        for (Path p : staging(outDir)) {
            long owner = OwnerTag.parse(p.getFileName().toString()).map(o -> o[0]).orElse(-1L);
            if (!before.contains(p) && owner == workerPid) {
                deleteTree(p);
            }
        }
    }

    private static boolean hasErrorFile(Path dir) {
        return !errorFile(dir).isEmpty();
    }

    private static String errorFile(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("hs_err_")).map(Path::toString).findFirst().orElse("");
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temporary directory
        }
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? (millis / 1000) + " s" : String.format("%.1f s", millis / 1000.0);
    }
}
