package io.quantbridge.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a killed worker left in the output directory is removed, and nothing else. */
class WorkerStagingTest {
    @TempDir
    Path out;

    @Test
    void onlyTheKilledWorkersNewTemporariesAreRemoved() throws Exception {
        long worker = 4242;
        Files.createDirectories(out.resolve(".qb-4242-100-old.staging"));          // there before the job
        Set<Path> before = WorkerProcess.staging(out);
        Files.createDirectories(out.resolve(".qb-4242-100-abc.staging").resolve("nested"));
        Files.writeString(out.resolve(".qb-4242-100-abc.staging").resolve("nested/model.onnx"), "x");
        Files.writeString(out.resolve(".qb-4242-100-q.pth.tmp"), "x");
        Files.createDirectories(out.resolve(".qb-777-5-other.staging"));            // another run's
        Files.writeString(out.resolve(".qb-commit.lock"), "");                     // untagged: never touched
        Files.writeString(out.resolve("model.onnx"), "kept");                      // the user's file

        WorkerProcess.removeNewStaging(out, before, worker);

        assertEquals(new TreeSet<>(Set.of(".qb-4242-100-old.staging", ".qb-777-5-other.staging", ".qb-commit.lock",
                "model.onnx")), names());
    }

    private Set<String> names() throws Exception {
        try (Stream<Path> s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
