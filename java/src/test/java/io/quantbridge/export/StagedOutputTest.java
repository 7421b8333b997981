package io.quantbridge.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.Leftovers;
import io.quantbridge.io.OwnerTag;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StagedOutputTest {
    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static StagedOutput staged(Path dir, boolean overwrite, String... contents) throws Exception {
        StagedOutput out = StagedOutput.open(dir, List.of("a.onnx", "b.json"), overwrite);
        Files.writeString(out.staged("a.onnx"), contents[0]);
        Files.writeString(out.staged("b.json"), contents[1]);
        return out;
    }

    @Test
    void commitsAllFilesAndLeavesNoStaging(@TempDir Path dir) throws Exception {
        try (StagedOutput out = staged(dir, false, "A", "B")) {
            assertTrue(out.dir().getFileName().toString().startsWith(OwnerTag.prefix()));
            out.commit();
        }
        assertEquals(List.of("a.onnx", "b.json"), names(dir));
        assertEquals("A", Files.readString(dir.resolve("a.onnx")));
    }

    @Test
    void aFileThatAppearedMeanwhileIsKeptAndNothingIsWritten(@TempDir Path dir) throws Exception {
        try (StagedOutput out = staged(dir, false, "A", "B")) {
            Files.writeString(dir.resolve("b.json"), "the other run's");
            QuantBridgeException e = assertThrows(QuantBridgeException.class, out::commit);
            assertTrue(e.getMessage().contains(dir.resolve("b.json") + " appeared while this run was working"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("the existing file was kept"), e.getMessage());
            assertFalse(e.getMessage().contains(".qb-"), "names the staging directory: " + e.getMessage());
        }
        assertEquals(List.of("b.json"), names(dir));
        assertEquals("the other run's", Files.readString(dir.resolve("b.json")));
    }

    @Test
    void overwriteReplacesEveryFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.onnx"), "old");
        try (StagedOutput out = staged(dir, true, "A", "B")) {
            out.commit();
        }
        assertEquals(List.of("a.onnx", "b.json"), names(dir));
        assertEquals("A", Files.readString(dir.resolve("a.onnx")));
    }

    @Test
    void refusesExistingFilesUpFront(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.onnx"), "old");
        QuantBridgeException e = assertThrows(QuantBridgeException.class,
                () -> StagedOutput.open(dir, List.of("a.onnx"), false));
        assertTrue(e.getMessage().contains("refusing to overwrite existing " + dir.resolve("a.onnx")), e.getMessage());
        assertEquals(List.of("a.onnx"), names(dir));
    }

    @Test
    void closingWithoutCommitRemovesEverything(@TempDir Path dir) throws Exception {
        try (StagedOutput out = staged(dir, false, "A", "B")) {
            assertEquals(1, names(dir).size());
        }
        assertEquals(List.of(), names(dir));
    }

    @Test
    void errorsNameTheOutputDirectoryNotTheStaging(@TempDir Path dir) throws Exception {
        try (StagedOutput out = StagedOutput.open(dir, List.of("a.onnx"), false)) {
            QuantBridgeException e = out.hidden(new QuantBridgeException("cannot write " + out.staged("a.onnx")));
            assertEquals("cannot write " + dir.resolve("a.onnx"), e.getMessage());
        }
    }

    @Test
    void leftoversOfDeadProcessesGoLiveOnesStay(@TempDir Path dir) throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path dead = Files.createDirectory(dir.resolve(".qb-" + gone.pid() + "-1-x.staging"));
        Files.writeString(dead.resolve("f"), "x");
        Files.writeString(dir.resolve(".qb-" + gone.pid() + "-0-y.tmp"), "x");
        Path live = Files.writeString(dir.resolve(OwnerTag.prefix() + "z.tmp"), "x");
        Path untagged = Files.writeString(dir.resolve(".qb-untagged.tmp"), "x");
        assertEquals(2, Leftovers.sweep(dir).size());
        assertEquals(List.of(untagged.getFileName().toString(), live.getFileName().toString()).stream().sorted().toList(),
                names(dir));
    }
}
