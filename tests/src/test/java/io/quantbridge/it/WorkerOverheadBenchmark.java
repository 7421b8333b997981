package io.quantbridge.it;

import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.service.InProcessRunner;
import io.quantbridge.service.JobListener;
import io.quantbridge.service.QuantBridgeService;
import io.quantbridge.service.QuantJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prints the cost of service mode against in-process: the same small PyTorch job (calibrate 4
 * batches, retrain 1 epoch with progress, export) in this JVM and in fresh worker JVMs, the
 * worker's start-up, and a trivial Java-to-Python call. A benchmark, not a check: run it with
 * {@code ./quantbridge test -pl java,cli,tests -Dtest=WorkerOverheadBenchmark -Dquantbridge.bench=true
 * -Dsurefire.failIfNoSpecifiedTests=false -Dquantbridge.skipPytest=true}.
 */
public class WorkerOverheadBenchmark {
    private static final int RUNS = 3;

    @TempDir
    Path tmp;

    /** Runs the benchmark outside JUnit: {@code java -cp TEST_CLASSPATH io.quantbridge.it.WorkerOverheadBenchmark}. */
    public static void main(String[] args) throws Exception {
        WorkerOverheadBenchmark b = new WorkerOverheadBenchmark();
        b.tmp = Files.createTempDirectory("quantbridge_bench_");
        b.measure();
    }

    @Test
    void workerOverheadPerJob() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("quantbridge.bench"), "set -Dquantbridge.bench=true to run");
        measure();
    }

    private void measure() throws Exception {
        double[] inProcess = new double[RUNS];
        double callMicros;
        long t0 = System.nanoTime();
        try (PythonRuntime rt = PythonRuntime.open()) {
            double startMs = (System.nanoTime() - t0) / 1e6;
            rt.exec("import torch\ntorch.set_num_threads(1)\n");
            InProcessRunner runner = new InProcessRunner(rt);
            runner.run(job("warm"), null);
            for (int i = 0; i < RUNS; i++) {
                long s = System.nanoTime();
                runner.run(job("in" + i), null);
                inProcess[i] = (System.nanoTime() - s) / 1e6;
            }
            double[] calls = new double[2001];
            for (int i = 0; i < calls.length; i++) {
                long s = System.nanoTime();
                rt.call("math:sqrt", 2.0);
                calls[i] = (System.nanoTime() - s) / 1e3;
            }
            Arrays.sort(calls);
            callMicros = calls[calls.length / 2];
            System.out.printf("quantbridge bench: in-process CPython start %.0f ms, trivial call median %.1f us%n",
                    startMs, callMicros);
        }
        double[] worker = new double[RUNS];
        double[] firstEvent = new double[RUNS];
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(1))) {
            for (int i = 0; i < RUNS; i++) {
                long s = System.nanoTime();
                AtomicLong first = new AtomicLong();
                service.run(job("w" + i), new JobListener() {
                    @Override
                    public boolean onProgress(io.quantbridge.runtime.ProgressEvent e) {
                        first.compareAndSet(0, System.nanoTime());
                        return true;
                    }
                });
                worker[i] = (System.nanoTime() - s) / 1e6;
                firstEvent[i] = (first.get() - s) / 1e6;
            }
        }
        double in = median(inProcess);
        double w = median(worker);
        System.out.printf("quantbridge bench: small torch job in-process %.0f ms (median of %d, warm runtime)%n", in, RUNS);
        System.out.printf("quantbridge bench: same job in a fresh worker %.0f ms; first progress event after %.0f ms "
                + "(JVM + CPython + imports + project)%n", w, median(firstEvent));
        System.out.printf("quantbridge bench: worker overhead per job %.0f ms; per Python call none added "
                + "(calls run in-process inside the worker, %.1f us each)%n", w - in, callMicros);
    }

    private QuantJob job(String name) throws Exception {
        Path out = Files.createDirectory(tmp.resolve(name));
        return Jobs.torch(out, "digitsnet.train:train", Map.of("epochs", 1)).build();
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
