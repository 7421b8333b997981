package io.quantbridge.io;

import io.quantbridge.QuantBridgeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFilesTest {
    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAndReplaces(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("a.json");
        assertSame(f, AtomicFiles.writeString(f, "héllo\n"));
        assertEquals("héllo\n", Files.readString(f, StandardCharsets.UTF_8));
        AtomicFiles.write(f, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        assertEquals(List.of("a.json"), names(dir));
    }

    @Test
    void refusesToOverwriteWhenAsked(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("keep.onnx"), "the user's file");
        var e = assertThrows(QuantBridgeException.class, () -> AtomicFiles.writeString(f, "new", false));
        assertTrue(e.getMessage().contains("refusing to overwrite existing file " + f), e.getMessage());
        assertEquals("the user's file", Files.readString(f));
        assertEquals(List.of("keep.onnx"), names(dir));
        Path g = dir.resolve("fresh.onnx");
        AtomicFiles.writeString(g, "new", false);
        assertEquals("new", Files.readString(g));
        assertEquals(List.of("fresh.onnx", "keep.onnx"), names(dir));
    }

    @Test
    void failingWriterLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("model.onnx"), "old");
        var e = assertThrows(QuantBridgeException.class, () -> AtomicFiles.write(f, true, out -> {
            out.write(new byte[1000]);
            throw new IOException("disk full");
        }));
        assertTrue(e.getMessage().contains("writing " + f + " failed"), e.getMessage());
        assertTrue(e.getCause().getMessage().contains("disk full"));
        assertEquals("old", Files.readString(f));
        assertEquals(List.of("model.onnx"), names(dir));

        var boom = new IllegalStateException("bug");
        assertSame(boom, assertThrows(IllegalStateException.class,
                () -> AtomicFiles.write(dir.resolve("other.onnx"), false, out -> {
                    out.write(1);
                    throw boom;
                })));
        assertEquals(List.of("model.onnx"), names(dir));
    }

    @Test
    void missingDirectoryOrDirectoryTarget(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("nope").resolve("x.json");
        var e = assertThrows(QuantBridgeException.class, () -> AtomicFiles.writeString(f, "x"));
        assertTrue(e.getMessage().contains("does not exist or is not a directory; create it first"), e.getMessage());
        Path sub = Files.createDirectory(dir.resolve("sub"));
        var d = assertThrows(QuantBridgeException.class, () -> AtomicFiles.writeString(sub, "x"));
        assertTrue(d.getMessage().contains("expected a file path, found a directory"), d.getMessage());
        assertEquals(List.of("sub"), names(dir));
    }
}
