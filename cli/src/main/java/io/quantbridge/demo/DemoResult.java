package io.quantbridge.demo;

import java.util.List;
import java.util.Locale;

/**
 * What the demo measured.
 *
 * @param rows one per stage and framework
 * @param notes extra lines (agreement of exported model and fake-quant model, files)
 */
public record DemoResult(List<DemoRow> rows, List<String> notes) {
    /** The table as printed by {@code ./quantbridge demo}. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-11s %-42s %8s %-22s %10s %8s %12s%n";
        sb.append(String.format(Locale.ROOT, fmt, "framework", "stage", "top-1 %", "model file", "size", "time",
                "ORT latency"));
        sb.append("-".repeat(119)).append('\n');
        for (DemoRow r : rows) {
            sb.append(String.format(Locale.ROOT, fmt, r.framework(), r.stage(), Double.isNaN(r.accuracy()) ? "-" : String.format(Locale.ROOT, "%.2f", r.accuracy()),
                    r.file() == null ? "-" : r.file(), r.bytes() < 0 ? "-" : human(r.bytes()),
                    String.format(Locale.ROOT, "%.1f s", r.seconds()),
                    Double.isNaN(r.latencyMs()) ? "-" : String.format(Locale.ROOT, "%.2f ms", r.latencyMs())));
        }
        for (String n : notes) {
            sb.append(n).append('\n');
        }
        return sb.toString();
    }

    private static String human(long bytes) {
        return bytes < 10_000 ? bytes + " B" : String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
}
