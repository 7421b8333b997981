package io.quantbridge.dist;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.EnvironmentException;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PythonEnvironment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts a command-line job ({@code calibrate ...} or {@code train ...}) on several ranks through
 * torch's own launcher, {@code torch.distributed.run} (run as {@code python -m
 * quantbridge.torch._launch}, which fixes the launcher's crash on Python 3.10, pytorch issue
 * 72086). Every rank is a JVM running {@code RankMain} with the same arguments, so the job code is
 * the in-process code. Rank 0's progress reaches the listener; the ranks' results come back
 * through a node-local job directory, deleted afterwards unless no rank explained a failure.
 *
 * <p>Each node of a multi-node job runs its own launcher with the same {@link LaunchSpec} except
 * {@code nodeRank}; rank 0 (on node 0) writes the outputs.
 */
public final class DistributedLauncher {
    /** The rank entry point, in the command-line artifact (it runs the command line's job). */
    private static final String RANK_MAIN = "io.quantbridge.dist.RankMain";
    /** The command line's exit code for an error in Python code. */
    private static final int EXIT_PYTHON = 3;
    private final PythonEnvironment env;

    /** A launcher using the Python environment {@code env} (its torch and the shim). */
    public DistributedLauncher(PythonEnvironment env) {
        this.env = env;
    }

    /**
     * A launcher over the environment {@link PythonEnvironment#detect()} finds.
     *
     * @throws QuantBridgeException if there is no usable environment
     */
    public static DistributedLauncher detect() throws QuantBridgeException {
        return new DistributedLauncher(PythonEnvironment.detect());
    }

    /**
     * Runs {@code command} (command-line arguments such as {@code ["calibrate", "-c", "config.json", ...]},
     * without distributed options) on this node's ranks and waits for them.
     *
     * @param listener gets rank 0's progress events (on another thread), or null
     * @param timeout the longest the job may take, or null for no limit; at the limit every rank is killed
     * @return how the job ended; a rank's failure is a result, not an exception
     * @throws QuantBridgeException if the launcher cannot be started
     */
    public DistributedResult run(LaunchSpec spec, List<String> command, ProgressListener listener, Duration timeout)
            throws QuantBridgeException {
        Path jobDir;
        try {
            jobDir = Files.createTempDirectory("quantbridge-dist-");
        } catch (IOException e) {
            throw new QuantBridgeException("cannot create the job directory for the ranks: " + e.getMessage(), e);
        }
        Path log = jobDir.resolve("launcher.log");
        ProcessBuilder pb = new ProcessBuilder(launchCommand(spec, command)).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put(RankEnv.DIR_VARIABLE, jobDir.toString());
        pb.environment().put("QUANTBRIDGE_DIST_TIMEOUT", Integer.toString(spec.timeoutSeconds()));
        pb.environment().put("QUANTBRIDGE_VENV", env.venv().toString());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new EnvironmentException("cannot start torch's launcher with " + env.venv().resolve("bin/python")
                    + ": " + e.getMessage() + "; run ./quantbridge setup", e);
        }
        int code;
        boolean timedOut = false;
        try (EventTail tail = new EventTail(RankEnv.eventsFile(jobDir), listener == null ? ProgressListener.NONE : listener)) {
            if (timeout == null) {
                code = p.waitFor();
            } else if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                code = p.exitValue();
            } else {
                timedOut = true;
                kill(p);
                code = -1;
            }
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new QuantBridgeException("interrupted while the ranks ran; every rank was stopped", e);
        }
        return collect(spec, jobDir, log, code, timedOut, timeout);
    }

    private DistributedResult collect(LaunchSpec spec, Path jobDir, Path log, int launcherCode, boolean timedOut,
                                      Duration timeout) {
        List<RankResult> results = new ArrayList<>();
        int first = spec.nodeRank() * spec.nprocPerNode();
        for (int r = first; r < first + spec.nprocPerNode(); r++) {
            RankResult.read(RankEnv.resultFile(jobDir, r)).ifPresent(results::add);
        }
        String output = results.stream().filter(r -> r.rank() == 0).map(RankResult::out).findFirst().orElse("");
        Optional<RankResult> failed = results.stream().filter(r -> r.exitCode() != 0)
                .min(Comparator.comparingLong(RankResult::endedMillis).thenComparingInt(RankResult::rank));
        if (timedOut) {
            delete(jobDir);
            return new DistributedResult(EXIT_PYTHON, -1, "the ranks did not finish within "
                    + timeout.toSeconds() + " s; every rank was stopped and nothing was written", output, "", null);
        }
        if (failed.isPresent()) {
            RankResult f = failed.get();
            delete(jobDir);
            return new DistributedResult(f.exitCode(), f.rank(), "rank " + f.rank() + " of " + spec.worldSize() + ": "
                    + f.errorLine(), output, f.err(), null);
        }
        if (results.size() < spec.nprocPerNode()) {    // every rank's own success is the job's, whatever torchrun says
            List<Integer> missing = new ArrayList<>();
            for (int r = first; r < first + spec.nprocPerNode(); r++) {
                int rank = r;
                if (results.stream().noneMatch(x -> x.rank() == rank)) {
                    missing.add(rank);
                }
            }
            return new DistributedResult(EXIT_PYTHON, missing.isEmpty() ? -1 : missing.get(0),
                    "torch.distributed.run exited with code " + launcherCode + "; rank(s) " + missing
                            + " ended without a result (killed, crashed, or never started: another node missing, the "
                            + "port taken?); see the launcher's log " + log + " (last line: " + lastLine(log) + ")",
                    output, "", log);
        }
        delete(jobDir);
        return new DistributedResult(0, -1, null, output, "", null);
    }

    /** The launcher's command line: torch's launcher with the rank JVM as the program. */
    List<String> launchCommand(LaunchSpec spec, List<String> command) throws QuantBridgeException {
        int port = spec.masterPort() == 0 ? freePort() : spec.masterPort();
        List<String> cmd = new ArrayList<>(List.of(env.venv().resolve("bin").resolve("python").toString(), "-m",
                "quantbridge.torch._launch", "--nproc_per_node", Integer.toString(spec.nprocPerNode()), "--nnodes",
                Integer.toString(spec.nnodes()), "--node_rank", Integer.toString(spec.nodeRank()), "--master_addr",
                spec.masterAddr(), "--master_port", Integer.toString(port), "--max_restarts", "0", "--monitor_interval", "1",
                "--no_python", Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !a.startsWith("-Xrunjdwp")
                    && !a.startsWith("-Xdebug") && !a.startsWith("-Dquantbridge.venv=")) {
                cmd.add(a);
            }
        }
        cmd.add("-Dquantbridge.venv=" + env.venv());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), RANK_MAIN));
        cmd.addAll(command);
        return cmd;
    }

    private static int freePort() throws QuantBridgeException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new QuantBridgeException("no free port on localhost for the ranks' rendezvous: " + e.getMessage(), e);
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String lastLine(Path log) {
        try (Stream<String> lines = Files.lines(log)) {
            return lines.filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("(empty)");
        } catch (IOException | UncheckedIOException e) {
            return "(unreadable)";
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
