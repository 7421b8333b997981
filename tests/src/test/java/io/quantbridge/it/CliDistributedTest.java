package io.quantbridge.it;

import static io.quantbridge.it.CliHarness.TORCH_PROJECT;
import static io.quantbridge.it.CliHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.PythonRuntime;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate} and {@code train} on 2 CPU ranks (gloo, localhost) of the PyTorch example
 * project through torch's launcher: the same scales as one process on the union of the ranks'
 * batches, rank 0's progress and output, one error line from a failing rank and no output, and a
 * two-node job simulated on this machine.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliDistributedTest {
    private static final String MODEL = "digitsnet.model:build_model";
    private static final String DATA = "digitsnet.data:calibration_batches";
    private static final Path HELPERS = Runtimes.home().resolve("tests/src/test/python");

    @TempDir
    static Path dir;
    static Path config;
    static Path weights;
    static PythonRuntime rt;

    @BeforeAll
    static void project() throws Exception {
        config = dir.resolve("config_gen.json");
        weights = dir.resolve("float.pth");
        rt = Runtimes.open();
        rt.addPythonPath(TORCH_PROJECT);
        rt.call("digitsnet.train:create_float_weights", List.of(weights.toString()), Map.of("epochs", 1), null);
        run("config", "--framework", "torch", "-P", TORCH_PROJECT, "-m", MODEL, "--input-shape", "x:1,1,8,8",
                "--quantize-all", "--calibration", "minmax", "-o", config).expect(0);
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    private static CliHarness.Result step(String cmd, Object... rest) {
        List<Object> args = new ArrayList<>(List.of(cmd, "-P", TORCH_PROJECT + ":" + HELPERS, "-m", MODEL, "-c", config));
        args.addAll(List.of(rest));
        return run(args.toArray());
    }

    @Test
    @Order(1)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void twoRanksCalibrateToTheScalesOfOneProcessOnTheUnion() throws Exception {
        Path two = dir.resolve("quant2.pth");
        var r = step("calibrate", "--nproc-per-node", 2, "--weights", weights, "-d", DATA, "-o", two).expect(0);
        assertTrue(r.out().contains("calibrate  4/"), "rank 0's progress:\n" + r.out());
        assertTrue(r.out().contains("calibrated 4 of 4 layers on 4 batches"), r.out());   // rank 0's share of 8
        assertTrue(r.out().contains("wrote " + two), r.out());
        Path one = dir.resolve("quant1.pth");
        step("calibrate", "--weights", weights, "-d", DATA, "-o", one).expect(0);
        Object scales = rt.call("qb_dist:activation_scales", two.toString());
        assertEquals(rt.call("qb_dist:activation_scales", one.toString()), scales);
        assertEquals(4, ((Map<?, ?>) scales).size());
        assertEquals(List.of(), rt.call("qb_dist:weights_differ", one.toString(), two.toString()));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".qb-")), "no temporary files left");
        }
    }

    @Test
    @Order(2)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void twoRanksTrainWithDdpAndTheStateExports() throws Exception {
        Path trained = dir.resolve("trained2.pth");
        var r = step("train", "--nproc-per-node", "2", "--from", dir.resolve("quant2.pth"), "-t",
                "digitsnet.train:train", "--train-arg", "epochs=1", "--train-arg", "lr=1e-4",
                "--eval", "digitsnet.train:evaluate", "-o", trained).expect(0);
        assertTrue(r.out().contains("train      24/24 loss="), "rank 0's share of 47 steps:\n" + r.out());
        assertTrue(r.out().contains("steps=24") && r.out().contains("accuracy (digitsnet.train:evaluate): quantized "),
                r.out());
        Path out = Files.createDirectories(dir.resolve("export"));
        var e = step("export", "--from", trained, "-o", out, "--name", "dist", "--eval", "digitsnet.train:evaluate")
                .expect(0);
        assertTrue(Files.isRegularFile(out.resolve("dist_int8.onnx")), e.out());
    }

    @Test
    @Order(3)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void aFailingRankEndsTheJobWithItsErrorAndWritesNothing() {
        Path target = dir.resolve("never.pth");
        step("calibrate", "--nproc-per-node", 2, "--weights", weights, "-d", "qb_dist:batches_failing_on_rank_1",
                "-o", target, "--dist-timeout", 60)
                .oneError(3, "rank 1 of 2: ValueError: no data shard for rank 1 of 2");
        assertFalse(Files.exists(target));
    }

    @Test
    @Order(4)
    void distributedOptionsAreChecked() {
        step("calibrate", "--nproc-per-node", 1, "--nnodes", 2, "--node-rank", 2, "-d", DATA, "-o", dir.resolve("x.pth"))
                .oneError(2, "--node-rank must be in [0, 1] for --nnodes 2, got 2");
        step("calibrate", "--nproc-per-node", 0, "-d", DATA, "-o", dir.resolve("x.pth"))
                .oneError(2, "--nproc-per-node must be at least 1, got 0");
        assertFalse(Files.exists(dir.resolve("x.pth")));
    }

    @Test
    @Order(5)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void twoNodesOfOneRankOnLocalhost() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path target = dir.resolve("nodes.pth");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<CliHarness.Result>> nodes = new ArrayList<>();
            for (int node = 0; node < 2; node++) {
                int n = node;
                nodes.add(pool.submit(() -> step("calibrate", "--nproc-per-node", 1, "--nnodes", 2, "--node-rank", n,
                        "--master-addr", "127.0.0.1", "--master-port", port, "--dist-timeout", 120, "--weights", weights,
                        "-d", DATA, "-o", target)));
            }
            var node0 = nodes.get(0).get(500, TimeUnit.SECONDS).expect(0);
            var node1 = nodes.get(1).get(500, TimeUnit.SECONDS).expect(0);
            assertTrue(node0.out().contains("wrote " + target), node0.out());
            assertTrue(node1.out().contains("node 1: ranks 1-1 of 2 finished"), node1.out());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(rt.call("qb_dist:activation_scales", dir.resolve("quant1.pth").toString()),
                rt.call("qb_dist:activation_scales", target.toString()));
    }

}
