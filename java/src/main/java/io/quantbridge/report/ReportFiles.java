package io.quantbridge.report;

import java.nio.file.Path;

/**
 * The files {@link ReportWriter} wrote.
 *
 * @param json {@code report.json}
 * @param html {@code report.html}
 */
public record ReportFiles(Path json, Path html) { }
