package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.CancelledException;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.service.InProcessRunner;
import io.quantbridge.service.JobListener;
import io.quantbridge.service.JobResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cancellation in-process: an interrupt ({@code Future.cancel(true)}), a listener that says stop
 * and a listener that throws each end the running job at its next progress event; the runtime
 * answers at once afterwards; a listener may call Python from another thread.
 */
class InProcessCancelTest {
    private static PythonRuntime rt;
    private static InProcessRunner runner;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() throws Exception {
        rt = Runtimes.open();
        runner = new InProcessRunner(rt);
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    private static boolean empty(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    void futureCancelStopsTrainingAndTheRuntimeAnswersAtOnce() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("cancel"));
        CountDownLatch training = new CountDownLatch(3);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<JobResult> f = pool.submit(() -> runner.run(
                    Jobs.torch(out, "qb_faults:slow_train", Map.of("steps", 2000)).build(), new JobListener() {
                        @Override
                        public boolean onProgress(ProgressEvent e) {
                            if (e.phase().equals("train")) {
                                training.countDown();
                            }
                            return true;
                        }
                    }));
            assertTrue(training.await(120, TimeUnit.SECONDS));
            f.cancel(true);
            long t0 = System.nanoTime();
            Object v = rt.call("math:sqrt", 16.0);
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf("quantbridge in-process: first call after cancelling a training job answered in %.1f ms%n", ms);
            assertEquals(4.0, v);
            assertTrue(empty(out), "nothing written by the cancelled job");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void listenerReturningFalseStopsEvenThroughExceptException() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("stop"));
        CancelledException e = assertThrows(CancelledException.class, () -> runner.run(
                Jobs.torch(out, "qb_faults:swallowing_train", Map.of("steps", 2000)).build(), new JobListener() {
                    @Override
                    public boolean onProgress(ProgressEvent ev) {
                        return !(ev.phase().equals("train") && ev.current() == 3);
                    }
                }));
        assertTrue(e.getMessage().contains("listener asked to stop") && e.getMessage().contains("train 3/2000"), e.getMessage());
        assertTrue(empty(out));
        assertEquals(2.0, rt.call("math:sqrt", 4.0));
    }

    @Test
    void throwingListenerCancelsWithItsExceptionAsCause() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("throw"));
        IllegalStateException boom = new IllegalStateException("listener broke");
        CancelledException e = assertThrows(CancelledException.class, () -> runner.run(
                Jobs.torch(out, "qb_faults:slow_train", Map.of("steps", 2000, "delay", 0.0)).build(), new JobListener() {
                    @Override
                    public boolean onProgress(ProgressEvent ev) {
                        if (ev.phase().equals("train") && ev.current() == 2) {
                            throw boom;
                        }
                        return true;
                    }
                }));
        assertEquals(boom, e.getCause());
        assertTrue(e.getMessage().contains("listener broke"), e.getMessage());
        assertTrue(empty(out));
    }

    @Test
    void listenerCallingPythonFromAnotherThreadDoesNotDeadlock() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("nested"));
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            JobResult r = assertTimeoutPreemptively(Duration.ofMinutes(3), () -> runner.run(
                    Jobs.torch(out, null, Map.of()).build(), new JobListener() {
                        @Override
                        public boolean onProgress(ProgressEvent ev) {
                            try {
                                Object v = CompletableFuture.supplyAsync(() -> {
                                    try {
                                        return rt.call("math:sqrt", 9.0);
                                    } catch (Exception x) {
                                        throw new IllegalStateException(x);
                                    }
                                }, other).get();
                                return Double.valueOf(3.0).equals(v);
                            } catch (InterruptedException | ExecutionException x) {
                                throw new IllegalStateException(x);
                            }
                        }
                    }));
            assertEquals(List.of("digits.onnx", "digits_int8.onnx", "digits_quant_param.json"),
                    r.files().stream().map(p -> p.getFileName().toString()).toList());
        } finally {
            other.shutdownNow();
        }
    }
}
