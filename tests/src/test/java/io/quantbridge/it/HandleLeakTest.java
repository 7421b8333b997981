package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * 1,000 small jobs in one runtime: a quantizer, a model, a config, fake quant, one calibration
 * batch and the scales, plus a Python object whose handle is dropped without close. The number
 * of Python objects held for Java stays flat and the process's resident memory stays bounded.
 */
class HandleLeakTest {
    private static final int JOBS = 1000;

    private static long rssBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
            }
        }
        return 0;
    }

    private static void smallJob(PythonRuntime rt, QuantConfig config) throws Exception {
        TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of("digitsnet.model:build_model", Jobs.TORCH_PROJECT));
        try (PyHandle model = q.newFloatModel(); QuantModel qm = q.optimize(model, config)) {
            qm.calibrate("digitsnet.data:calibration_batches", Map.of("batch_size", 8, "num_batches", 1), 1, null);
            assertEquals(4, qm.params().quantizedLayers().size());
        }
        // Dropped without close: the Cleaner releases it once the handle is unreachable.
        Object dropped = rt.call("collections:deque");
        assertTrue(dropped instanceof PyHandle, String.valueOf(dropped));
    }

    @Test
    void thousandJobsKeepHandlesFlatAndMemoryBounded() throws Exception {
        try (PythonRuntime rt = PythonRuntime.open()) {
            QuantConfig config = Jobs.digitsnetConfig();
            for (int i = 0; i < 20; i++) {     // warm-up: imports, allocator pools, JIT
                smallJob(rt, config);
            }
            long handles0 = settledHandles(rt);
            long rss0 = rssBytes();
            System.out.printf("quantbridge leak check: after warm-up liveHandles=%d RSS=%d MiB%n", handles0, rss0 >> 20);
            long maxHandles = handles0;
            long t0 = System.nanoTime();
            for (int i = 1; i <= JOBS; i++) {
                smallJob(rt, config);
                if (i % 100 == 0) {
                    long h = settledHandles(rt);
                    maxHandles = Math.max(maxHandles, h);
                    System.out.printf("quantbridge leak check: %4d jobs  liveHandles=%d  RSS=%d MiB  (%.1f ms/job)%n",
                            i, h, rssBytes() >> 20, (System.nanoTime() - t0) / 1e6 / i);
                }
            }
            long handles1 = settledHandles(rt);
            long rss1 = rssBytes();
            System.out.printf("quantbridge leak check: %d jobs: liveHandles %d -> %d (max %d), RSS %d -> %d MiB (%+d MiB)%n",
                    JOBS, handles0, handles1, maxHandles, rss0 >> 20, rss1 >> 20, (rss1 - rss0) >> 20);
            assertEquals(handles0, handles1, "Python objects held for Java after 1,000 jobs");
            assertEquals(handles0, maxHandles, "no growth along the way either");
            assertTrue(rss1 - rss0 < (200L << 20), "RSS grew by " + ((rss1 - rss0) >> 20) + " MiB over 1,000 jobs");
        }
    }

    /** Live handles once dropped Java handles have been collected and released (polls until it stops falling). */
    private static long settledHandles(PythonRuntime rt) throws Exception {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 40; i++) {
            System.gc();
            Thread.sleep(50);
            long now = rt.liveHandles();   // releases what the Cleaner queued, then counts
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }
}
