package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.CancelledException;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.service.JobLimits;
import io.quantbridge.service.JobListener;
import io.quantbridge.service.JobResult;
import io.quantbridge.service.QuantBridgeService;
import io.quantbridge.service.QuantJob;
import io.quantbridge.service.WorkerFailedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults in user code, each in service mode next to a healthy job: the faulty job fails with an
 * error naming the cause, the healthy one finishes, the service goes on. Cancellation leaves no
 * output behind and the next job starts at once.
 */
class WorkerFaultsTest {
    @TempDir
    Path tmp;

    private Path dir(String name) throws Exception {
        return Files.createDirectory(tmp.resolve(name));
    }

    private static List<String> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Runs the faulty job (with {@code limits}) next to a healthy one; returns the faulty job's exception. */
    private Throwable faultNextToHealthyJob(QuantBridgeService service, String fault, JobLimits limits)
            throws Exception {
        Path good = dir("good_" + fault.replace(':', '_'));
        Path bad = dir("bad_" + fault.replace(':', '_'));
        Future<JobResult> healthy = service.submit(Jobs.torch(good, "digitsnet.train:train", Map.of("epochs", 1)).build(), null);
        Future<JobResult> faulty = service.submit(Jobs.torch(bad, fault, Map.of()).build(), null, limits);
        ExecutionException e = assertThrows(ExecutionException.class, faulty::get);
        JobResult ok = healthy.get();
        assertEquals(List.of("digits.onnx", "digits_int8.onnx", "digits_quant_param.json"), list(good),
                "the healthy job finished next to " + fault);
        assertEquals(List.of(), list(bad), "the failed job left nothing in its output directory");
        assertEquals(4, ok.params().quantizedLayers().size());
        System.out.println("quantbridge service: " + fault + " -> " + e.getCause().getMessage().lines().findFirst().orElse(""));
        return e.getCause();
    }

    @Test
    void segfaultInUserCodeFailsOneJob() throws Exception {
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            WorkerFailedException e = assertInstanceOf(WorkerFailedException.class,
                    faultNextToHealthyJob(service, "qb_faults:segfault", service.options().limits()));
            assertEquals(WorkerFailedException.Reason.CRASHED, e.reason());
            assertTrue(e.getMessage().contains("SIGSEGV"), e.getMessage());
        }
    }

    @Test
    void osExitInUserCodeFailsOneJob() throws Exception {
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            QuantBridgeExceptionCheck.exitNamed(faultNextToHealthyJob(service, "qb_faults:hard_exit",
                    service.options().limits()));
        }
    }

    @Test
    void endlessLoopTimesOutAndIsKilled() throws Exception {
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            WorkerFailedException e = assertInstanceOf(WorkerFailedException.class, faultNextToHealthyJob(service,
                    "qb_faults:endless", service.options().limits().withTimeout(Duration.ofSeconds(40))));
            assertEquals(WorkerFailedException.Reason.TIMED_OUT, e.reason());
            assertTrue(e.getMessage().contains("timed out after 40 s") && e.getMessage().contains("killed"), e.getMessage());
        }
    }

    @Test
    void memoryBlowUpIsKilledAtTheLimit() throws Exception {
        long limit = 1_500L << 20;
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            WorkerFailedException e = assertInstanceOf(WorkerFailedException.class, faultNextToHealthyJob(service,
                    "qb_faults:memory_blowup", service.options().limits().withMemoryLimit(limit)));
            assertEquals(WorkerFailedException.Reason.MEMORY_LIMIT, e.reason());
            assertTrue(e.getMessage().contains("over the limit of 1500.0 MiB"), e.getMessage());
        }
    }

    @Test
    void cancelMidTrainingLeavesNoFilesAndTheNextJobRunsAtOnce() throws Exception {
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(1))) {
            Path out = dir("cancelled");
            CountDownLatch training = new CountDownLatch(3);
            Future<JobResult> f = service.submit(Jobs.torch(out, "qb_faults:slow_train", Map.of("steps", 2000)).build(),
                    new JobListener() {
                        @Override
                        public boolean onProgress(ProgressEvent e) {
                            if (e.phase().equals("train")) {
                                training.countDown();
                            }
                            return true;
                        }
                    });
            assertTrue(training.await(120, TimeUnit.SECONDS), "training started");
            assertTrue(f.cancel(true));
            assertThrows(CancellationException.class, f::get);
            long t0 = System.nanoTime();
            Path next = dir("next");
            JobResult r = service.submit(Jobs.torch(next, null, Map.of()).build(), null).get();
            System.out.printf("quantbridge service: the job after a cancelled one finished %.1f s after the cancel%n",
                    (System.nanoTime() - t0) / 1e9);
            assertEquals(3, r.files().size());
            assertEquals(List.of(), list(out), "the cancelled job left nothing behind");
        }
    }

    @Test
    void listenerStopAndListenerFailureEndTheJob() throws Exception {
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            Path stopped = dir("stopped");
            Path failed = dir("failed");
            QuantJob slowA = Jobs.torch(stopped, "qb_faults:slow_train", Map.of("steps", 2000)).build();
            QuantJob slowB = Jobs.torch(failed, "qb_faults:swallowing_train", Map.of("steps", 2000)).build();
            Future<JobResult> a = service.submit(slowA, new JobListener() {
                @Override
                public boolean onProgress(ProgressEvent e) {
                    return !(e.phase().equals("train") && e.current() >= 5);
                }
            });
            IllegalStateException boom = new IllegalStateException("listener broke");
            Future<JobResult> b = service.submit(slowB, new JobListener() {
                @Override
                public boolean onProgress(ProgressEvent e) {
                    if (e.phase().equals("train") && e.current() >= 5) {
                        throw boom;
                    }
                    return true;
                }
            });
            ExecutionException ea = assertThrows(ExecutionException.class, a::get);
            CancelledException ca = assertInstanceOf(CancelledException.class, ea.getCause());
            assertTrue(ca.getMessage().contains("listener asked to stop at train 5/2000"), ca.getMessage());
            ExecutionException eb = assertThrows(ExecutionException.class, b::get);
            CancelledException cb = assertInstanceOf(CancelledException.class, eb.getCause());
            assertEquals(boom, cb.getCause(), "the listener's exception is the cause");
            assertEquals(List.of(), list(stopped));
            assertEquals(List.of(), list(failed));
            assertFalse(Thread.currentThread().isInterrupted());
        }
    }
}
