package io.quantbridge.it;

import static io.quantbridge.it.FaultProjects.TF_GRAPH;
import static io.quantbridge.it.FaultProjects.TF_TRAIN;
import static io.quantbridge.it.FaultProjects.TORCH_MODEL;
import static io.quantbridge.it.FaultProjects.TORCH_TRAIN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C during {@code train}, both frameworks, as a terminal sends it (SIGINT to the whole
 * process group) and as {@code kill -INT PID} does, through the launcher and through
 * {@code java ... Main}: the process ends within seconds with exit 130 and the one line
 * {@code interrupted}; the output the user already had is intact and no temporary file is left.
 * A TensorFlow {@code Session.run} that would run for minutes is stopped too. {@code kill -ABRT}
 * through the launcher ends the run with exit 134 and one error line naming SIGABRT and a crash log.
 */
class FaultSignalTest {
    private static final int SECONDS = 30;
    private static final byte[] USERS = "the user's earlier result".getBytes();

    @TempDir
    static Path dir;
    @TempDir
    static Path logs;

    @BeforeAll
    static void projects() throws Exception {
        FaultProjects.torch(dir);
        FaultProjects.tensorflow(dir);
    }

    private static List<String> torchTrain(boolean launcher, String out) {
        Object[] args = {"train", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m", TORCH_MODEL,
                "--from", dir.resolve("quant.pth"), "-t", TORCH_TRAIN, "--train-arg", "epochs=100000", "-o", out, "--force"};
        return launcher ? FaultProcess.launcher(args) : FaultProcess.java(args);
    }

    private static List<String> tfTrain(boolean launcher, String function, String out) {
        Object[] args = {"train", "-c", dir.resolve("tf_config.json"), "-P", CliHarness.TF_PROJECT, "-P",
                FaultProcess.HELPERS, "-m", TF_GRAPH, "--from", dir.resolve("quant.ckpt"), "-t", function,
                "--train-arg", "epochs=100000", "-o", out, "--force"};
        return launcher ? FaultProcess.launcher(args) : FaultProcess.java(args);
    }

    /** Runs {@code command} until {@code marker} is printed, signals it, checks the end. */
    private static void interrupt(List<String> command, String marker, String signal, boolean group, int code,
                                  String word, Path... untouched) throws Exception {
        byte[][] before = new byte[untouched.length][];
        for (int i = 0; i < untouched.length; i++) {
            before[i] = Files.readAllBytes(untouched[i]);
        }
        List<String> names = FaultProcess.names(dir);
        FaultProcess p = FaultProcess.start(dir, logs, command);
        p.awaitOutput(marker, 240);
        long t0 = System.nanoTime();
        p.signal(signal, group);
        FaultProcess.Result r = p.await(SECONDS);
        System.out.printf("quantbridge fault: SIG%s to the %s of %s ended it in %.2f s%n", signal,
                group ? "group" : "pid", Path.of(command.get(0)).getFileName(), (System.nanoTime() - t0) / 1e9);
        r.oneLine(code, word);
        assertEquals(word, r.err().strip(), r.err());
        for (int i = 0; i < untouched.length; i++) {
            assertArrayEquals(before[i], Files.readAllBytes(untouched[i]), untouched[i] + " changed");
        }
        assertEquals(names, FaultProcess.names(dir), "files appeared or vanished in the working directory");
        assertEquals(List.of(), FaultProcess.litter(dir));
    }

    @Test
    void torchTrainCtrlCToThePidThroughTheLauncher() throws Exception {
        Path out = Files.write(dir.resolve("trained_a.pth"), USERS);
        interrupt(torchTrain(true, out.toString()), "train ", "INT", false, 130, "interrupted", out);
    }

    @Test
    void torchTrainCtrlCToTheGroupOfJavaMain() throws Exception {
        Path out = Files.write(dir.resolve("trained_b.pth"), USERS);
        interrupt(torchTrain(false, out.toString()), "train ", "INT", true, 130, "interrupted", out);
    }

    @Test
    void tensorflowTrainCtrlCToTheGroupThroughTheLauncher() throws Exception {
        Path index = Files.write(dir.resolve("trained_c.ckpt.index"), USERS);
        interrupt(tfTrain(true, TF_TRAIN, dir.resolve("trained_c.ckpt").toString()), "train ", "INT", true, 130,
                "interrupted", index);
    }

    @Test
    void tensorflowTrainCtrlCToThePidOfJavaMain() throws Exception {
        Path index = Files.write(dir.resolve("trained_d.ckpt.index"), USERS);
        interrupt(tfTrain(false, TF_TRAIN, dir.resolve("trained_d.ckpt").toString()), "train ", "INT", false, 130,
                "interrupted", index);
    }

    @Test
    void aSessionRunOfMinutesIsStoppedToo() throws Exception {
        interrupt(tfTrain(true, "qb_faults:tf_long_run", dir.resolve("trained_e.ckpt").toString()),
                "long Session.run started", "INT", false, 130, "interrupted");
    }

    /** {@code kill -ABRT} (to the launcher or its group) aborts the JVM: one error line naming the signal. */
    private static void abort(boolean group, String name) throws Exception {
        Path out = Files.write(dir.resolve(name), USERS);
        List<String> names = FaultProcess.names(dir);
        FaultProcess p = FaultProcess.start(dir, logs, torchTrain(true, out.toString()));
        p.awaitOutput("train ", 240);
        p.signal("ABRT", group);
        FaultProcess.Result r = p.await(SECONDS);
        r.oneLine(134, "error: the process was ended by SIGABRT", "kill -ABRT", "crash log: ");
        Path log = Path.of(r.err().substring(r.err().indexOf("crash log: ") + "crash log: ".length()).strip());
        assertTrue(Files.isRegularFile(log) && !log.startsWith(dir), "crash log " + log);
        Files.delete(log);
        assertArrayEquals(USERS, Files.readAllBytes(out), out + " changed");
        assertEquals(names, FaultProcess.names(dir), "files appeared or vanished in the working directory");
        assertEquals(List.of(), FaultProcess.litter(dir));
    }

    @Test
    void sigabrtToThePidThroughTheLauncherIsNamed() throws Exception {
        abort(false, "trained_g.pth");
    }

    @Test
    void sigabrtToTheGroupThroughTheLauncherIsNamed() throws Exception {
        abort(true, "trained_h.pth");
    }

    @Test
    void sigtermEndsTheRunLikeCtrlC() throws Exception {
        Path out = Files.write(dir.resolve("trained_f.pth"), USERS);
        interrupt(torchTrain(true, out.toString()), "train ", "TERM", false, 143, "terminated", out);
    }
}
