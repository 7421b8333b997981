package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quantbridge.runtime.PythonRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Many Java threads share the one interpreter; every call gets its own correct result. */
class ConcurrentCallsTest {
    private static final int THREADS = 8;
    private static final int CALLS = 1000;

    @Test
    void eightThreadsThousandCallsEach() throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<long[]>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final long base = t * 1_000_000L;
                futures.add(pool.submit(() -> {
                    long[] nanos = new long[CALLS];
                    for (int i = 0; i < CALLS; i++) {
                        long start = System.nanoTime();
                        Object r = rt.call("qb_testing:add", base, (long) i);
                        nanos[i] = System.nanoTime() - start;
                        assertEquals(base + i, r);
                    }
                    return nanos;
                }));
            }
            List<Long> all = new ArrayList<>();
            for (Future<long[]> f : futures) {
                for (long n : f.get()) {
                    all.add(n);
                }
            }
            pool.shutdown();
            assertEquals(THREADS * CALLS, all.size());

            // Single-thread round trip of a trivial call, for the record (not asserted).
            long[] single = new long[2000];
            for (int i = 0; i < single.length; i++) {
                long start = System.nanoTime();
                rt.call("qb_testing:add", 1, 2);
                single[i] = System.nanoTime() - start;
            }
            Arrays.sort(single);
            System.out.printf("quantbridge bench: trivial Java->Python call, median %.1f us, p99 %.1f us (1 thread, %d calls)%n",
                    single[single.length / 2] / 1e3, single[single.length * 99 / 100] / 1e3, single.length);
        }
    }
}
