package io.quantbridge.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.QuantBridgeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesJsonAndHtml(@TempDir Path dir) throws Exception {
        QuantReport r = Fixtures.report();
        ReportFiles files = ReportWriter.write(dir, r);
        assertEquals(dir.resolve("report.json"), files.json());
        assertEquals(dir.resolve("report.html"), files.html());
        assertEquals(r.toJson(), Files.readString(files.json(), StandardCharsets.UTF_8));
        assertEquals(ReportWriter.toHtml(r), Files.readString(files.html(), StandardCharsets.UTF_8));
        assertEquals(List.of("report.html", "report.json"), names(dir), "no temporary files left");
    }

    @Test
    void refusesToOverwriteEitherFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("report.html"), "the user's page");
        var e = assertThrows(QuantBridgeException.class, () -> ReportWriter.write(dir, Fixtures.report()));
        assertTrue(e.getMessage().contains("report.html") && e.getMessage().contains("overwrite"), e.getMessage());
        assertEquals(List.of("report.html"), names(dir), "nothing written, not even the JSON");
        assertEquals("the user's page", Files.readString(dir.resolve("report.html")));
    }

    @Test
    void overwritesWhenAsked(@TempDir Path dir) throws Exception {
        ReportWriter.write(dir, Fixtures.report());
        QuantReport second = Fixtures.report().withNotes(List.of("second run"));
        assertThrows(QuantBridgeException.class, () -> ReportWriter.write(dir, second));
        ReportWriter.write(dir, second, true);
        assertTrue(Files.readString(dir.resolve("report.json")).contains("second run"));
        assertTrue(Files.readString(dir.resolve("report.html")).contains("second run"));
        assertEquals(List.of("report.html", "report.json"), names(dir));
    }

    @Test
    void needsAnExistingDirectory(@TempDir Path dir) {
        var e = assertThrows(QuantBridgeException.class, () -> ReportWriter.write(dir.resolve("missing"),
                Fixtures.report()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void removesItsJsonWhenTheHtmlCannotBeWritten(@TempDir Path dir) throws Exception {
        Files.createDirectory(dir.resolve("report.html"));     // a directory where the page should go
        assertThrows(QuantBridgeException.class, () -> ReportWriter.write(dir, Fixtures.report(), true));
        assertEquals(List.of("report.html"), names(dir));
    }
}
