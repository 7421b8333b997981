package io.quantbridge.report;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes a {@link QuantReport} as {@code report.json} and a self-contained {@code report.html}
 * (inline CSS and SVG, no script, no external resource) into a directory, each file atomically.
 */
public final class ReportWriter {
    /** The JSON file's name. */
    public static final String JSON_NAME = "report.json";
    /** The HTML file's name. */
    public static final String HTML_NAME = "report.html";

    private ReportWriter() {
    }

    /**
     * Writes both files into {@code dir}, refusing to replace existing ones.
     *
     * @throws QuantBridgeException if {@code dir} does not exist, a report file exists already, or writing fails
     */
    public static ReportFiles write(Path dir, QuantReport report) throws QuantBridgeException {
        return write(dir, report, false);
    }

    /**
     * Writes both files into {@code dir}. Without {@code overwrite}, nothing is written when either
     * file exists; if the HTML cannot be written, a JSON file this call created is removed again.
     *
     * @param overwrite replace existing report files
     * @throws QuantBridgeException if {@code dir} does not exist, a report file exists and
     *     {@code overwrite} is false, or writing fails
     */
    public static ReportFiles write(Path dir, QuantReport report, boolean overwrite) throws QuantBridgeException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(report, "report");
        if (!Files.isDirectory(dir)) {
            throw new QuantBridgeException("report directory " + dir + " does not exist or is not a directory; create it first");
        }
        Path json = dir.resolve(JSON_NAME);
        Path html = dir.resolve(HTML_NAME);
        if (!overwrite) {
            List<String> existing = new ArrayList<>();
            for (Path p : List.of(json, html)) {
                if (Files.exists(p)) {
                    existing.add(p.toString());
                }
            }
            if (!existing.isEmpty()) {
                throw new QuantBridgeException("refusing to overwrite existing report file(s) " + existing
                        + "; choose another directory or pass overwrite");
            }
        }
        String jsonText = report.toJson();
        String htmlText = toHtml(report);
        boolean jsonExisted = Files.exists(json);
        AtomicFiles.writeString(json, jsonText, overwrite);
        try {
            AtomicFiles.writeString(html, htmlText, overwrite);
        } catch (QuantBridgeException e) {
            if (!jsonExisted) {
                try {
                    Files.deleteIfExists(json);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return new ReportFiles(json, html);
    }

    /** The text of {@code report.html} for {@code report}. */
    public static String toHtml(QuantReport report) {
        return ReportHtml.render(Objects.requireNonNull(report, "report"));
    }
}
