package io.quantbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several worker JVMs start at once and all extract the shim into one directory. */
class ShimInstallerTest {
    @TempDir
    Path dir;

    @Test
    void concurrentExtractionsAgreeOnOneCompleteDirectoryAndLeaveNoTemporaries() throws Exception {
        String before = System.getProperty("quantbridge.shim.dir");
        System.setProperty("quantbridge.shim.dir", dir.toString());
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            for (int round = 0; round < 5; round++) {
                Path roundDir = Files.createDirectories(dir.resolve("r" + round));
                System.setProperty("quantbridge.shim.dir", roundDir.toString());
                CyclicBarrier start = new CyclicBarrier(n);
                List<Future<Optional<Path>>> results = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return ShimInstaller.install();
                    }));
                }
                Path first = null;
                for (Future<Optional<Path>> f : results) {
                    Optional<Path> p = f.get();
                    assertTrue(p.isPresent(), "the build puts the shim next to the classes");
                    if (first == null) {
                        first = p.get();
                    }
                    assertEquals(first, p.get());
                }
                assertTrue(Files.isRegularFile(first.resolve(".complete")));
                assertTrue(Files.isRegularFile(first.resolve("quantbridge/__init__.py")));
                try (Stream<Path> left = Files.list(roundDir)) {
                    assertEquals(List.of(first.getFileName().toString()),
                            left.map(p -> p.getFileName().toString()).toList(), "no temporary directory is left");
                }
            }
        } finally {
            pool.shutdownNow();
            if (before == null) {
                System.clearProperty("quantbridge.shim.dir");
            } else {
                System.setProperty("quantbridge.shim.dir", before);
            }
        }
    }
}
