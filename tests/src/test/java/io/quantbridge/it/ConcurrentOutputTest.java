package io.quantbridge.it;

import static io.quantbridge.it.FaultProjects.TORCH_DATA;
import static io.quantbridge.it.FaultProjects.TORCH_MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.io.OwnerTag;
import io.quantbridge.onnx.OnnxModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs that compete for one output, and runs killed with SIGKILL: two {@code export}s into one
 * directory, two {@code calibrate -o} to one file, with and without {@code --force}, as real
 * processes. Exactly one run writes (the other is refused with one line naming the file that was
 * kept), the files form one consistent set, and what a killed run left is removed by the next run
 * while the work of a live process is never touched.
 */
class ConcurrentOutputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    @TempDir
    static Path logs;

    @BeforeAll
    static void project() throws Exception {
        FaultProjects.torch(dir);
        // A second, different state: one more calibration batch.
        CliHarness.run("calibrate", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m",
                TORCH_MODEL, "--weights", dir.resolve("float.pth"), "-d", TORCH_DATA, "-n", 3, "-o",
                dir.resolve("other.pth")).expect(0);
    }

    private static List<String> export(Path from, Path out, boolean force) {
        List<Object> args = new ArrayList<>(List.of("export", "-c", dir.resolve("config_gen.json"), "-P",
                CliHarness.TORCH_PROJECT, "-m", TORCH_MODEL, "--from", from, "-o", out));
        if (force) {
            args.add("--force");
        }
        return FaultProcess.java(args.toArray());
    }

    private static List<String> calibrate(int batches, Path out) {
        return FaultProcess.java("calibrate", "-c", dir.resolve("config_gen.json"), "-P", CliHarness.TORCH_PROJECT, "-m",
                TORCH_MODEL, "--weights", dir.resolve("float.pth"), "-d", TORCH_DATA, "-n", batches, "-o", out);
    }

    /** Starts both commands at once and returns their results. */
    private static List<FaultProcess.Result> race(List<String> a, List<String> b) throws Exception {
        FaultProcess pa = FaultProcess.start(dir, logs, a);
        FaultProcess pb = FaultProcess.start(dir, logs, b);
        return List.of(pa.await(300), pb.await(300));
    }

    /** The parameter file names the float ONNX's hash: the three files come from one run. */
    private static void consistent(Path out) throws Exception {
        String sha = JSON.readTree(out.resolve("model_quant_param.json").toFile()).get("model").get("sha256").asText();
        assertEquals(OnnxModels.sha256(out.resolve("model.onnx")), sha, "model.onnx and the parameter file differ");
        assertEquals(List.of("model.onnx", "model_int8.onnx", "model_quant_param.json"), FaultProcess.names(out));
    }

    private static void oneWinsOneRefused(List<FaultProcess.Result> results) {
        long ok = results.stream().filter(r -> r.code() == 0).count();
        assertEquals(1, ok, () -> "expected exactly one run to write: " + results);
        FaultProcess.Result loser = results.stream().filter(r -> r.code() != 0).findFirst().orElseThrow();
        loser.oneLine(2, "error: ");
        assertTrue(loser.err().contains("appeared while this run was working") || loser.err().contains("refusing to "
                + "overwrite"), loser.err());
        assertTrue(loser.err().contains("kept") || loser.err().contains("--force"), loser.err());
    }

    @Test
    void twoExportsIntoOneDirectory() throws Exception {
        Path out = Files.createDirectory(dir.resolve("out_race"));
        oneWinsOneRefused(race(export(dir.resolve("quant.pth"), out, false), export(dir.resolve("other.pth"), out, false)));
        consistent(out);
        assertEquals(List.of(), FaultProcess.litter(out));
    }

    @Test
    void twoForcedExportsLeaveOneConsistentSet() throws Exception {
        Path out = Files.createDirectory(dir.resolve("out_force"));
        List<FaultProcess.Result> results = race(export(dir.resolve("quant.pth"), out, true),
                export(dir.resolve("other.pth"), out, true));
        results.forEach(r -> assertEquals(0, r.code(), r::toString));
        consistent(out);
        assertEquals(List.of(), FaultProcess.litter(out));
    }

    @Test
    void twoCalibratesToOneFile() throws Exception {
        Path out = dir.resolve("race.pth");
        oneWinsOneRefused(race(calibrate(2, out), calibrate(3, out)));
        assertTrue(Files.size(out) > 0);
        assertEquals(List.of(), FaultProcess.litter(dir));
    }

    @Test
    void killedExportLeavesNothingTheNextRunKeeps() throws Exception {
        Path out = Files.createDirectory(dir.resolve("out_killed"));
        FaultProcess p = FaultProcess.start(dir, logs, export(dir.resolve("quant.pth"), out, false));
        // Kill it while its staging directory exists (it holds the files being written); not on the
        // writability probe (.qb-probe-*.tmp), which the run creates and deletes at once before that
        long end = System.nanoTime() + 240_000_000_000L;
        while (FaultProcess.names(out).stream().noneMatch(n -> n.startsWith(".qb-") && n.endsWith(".staging"))
                && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        p.signal("KILL", true);
        p.await(30);
        assertTrue(FaultProcess.names(out).stream().anyMatch(n -> n.startsWith(".qb-") && n.endsWith(".staging")),
                "no staging to clean up");
        assertTrue(FaultProcess.names(out).stream().noneMatch(n -> n.startsWith("model")), FaultProcess.names(out)::toString);
        // A live process's staging (this JVM's) must survive the next run.
        Path live = Files.createDirectory(out.resolve(OwnerTag.prefix() + "live.staging"));
        FaultProcess.Result r = FaultProcess.run(dir, logs, export(dir.resolve("quant.pth"), out, false));
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.err().contains("removed") && r.err().contains("killed"), r.err());
        assertTrue(Files.isDirectory(live), "a live run's staging directory was removed");
        Files.delete(live);
        consistent(out);
    }

    @Test
    void pythonAndJavaTagTemporariesWithTheSameOwner() throws Exception {
        try (io.quantbridge.runtime.PythonRuntime rt = io.quantbridge.runtime.PythonRuntime.open()) {
            assertEquals(OwnerTag.current(), rt.call("quantbridge.common.paths:owner_tag"));
        }
    }

    @Test
    void leftoversOfAKilledCalibrateAreRemovedByTheNextRun() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("calib_killed"));
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        // What torch.save and a staging directory of a killed process look like.
        Files.writeString(sub.resolve(".qb-" + gone.pid() + "-1-abc.pth"), "partial");
        Path staging = Files.createDirectory(sub.resolve(".qb-" + gone.pid() + "-1-def.staging"));
        Files.writeString(staging.resolve("q.pth"), "partial");
        FaultProcess.Result r = FaultProcess.run(dir, logs, calibrate(2, sub.resolve("q.pth")));
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.err().contains("removed 2 temporary file(s)"), r.err());
        assertEquals(List.of("q.pth"), FaultProcess.names(sub));
    }
}
