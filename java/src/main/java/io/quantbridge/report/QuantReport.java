package io.quantbridge.report;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A per-layer quantization report: the layers worst first (by output SQNR), an optional
 * accuracy table and free-text notes. {@link #toJson()} is the content of {@code report.json};
 * {@link ReportWriter} writes it together with {@code report.html}.
 *
 * @param title the page title
 * @param framework {@code torch} or {@code tensorflow} (free text)
 * @param created when the statistics were taken
 * @param layers the layers, sorted worst first by the constructor ({@link LayerStats#WORST_FIRST})
 * @param accuracy the accuracy table in the given order (empty: none)
 * @param notes free-text notes shown under the summary (empty: none)
 */
public record QuantReport(String title, String framework, Instant created, List<LayerStats> layers,
                          List<AccuracyRow> accuracy, List<String> notes) {
    /** Layers with an output SQNR below this many dB are marked poor (red). */
    public static final double POOR_BELOW_DB = 20.0;
    /** Layers with an output SQNR below this many dB (and not poor) are marked fair (amber). */
    public static final double FAIR_BELOW_DB = 30.0;

    /** Copies the lists and sorts the layers worst first. */
    public QuantReport {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(framework, "framework");
        Objects.requireNonNull(created, "created");
        List<LayerStats> sorted = new ArrayList<>(Objects.requireNonNull(layers, "layers"));
        sorted.sort(LayerStats.WORST_FIRST);
        layers = List.copyOf(sorted);
        accuracy = accuracy == null ? List.of() : List.copyOf(accuracy);
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    /** A report created now, without accuracy table or notes. */
    public static QuantReport of(String title, String framework, List<LayerStats> layers) {
        return new QuantReport(title, framework, Instant.now(), layers, List.of(), List.of());
    }

    /** This report with {@code rows} as its accuracy table. */
    public QuantReport withAccuracy(List<AccuracyRow> rows) {
        return new QuantReport(title, framework, created, layers, rows, notes);
    }

    /** This report with {@code lines} as its notes. */
    public QuantReport withNotes(List<String> lines) {
        return new QuantReport(title, framework, created, layers, accuracy, lines);
    }

    /** Number of quantized layers. */
    public int quantizedCount() {
        return (int) layers.stream().filter(LayerStats::quantized).count();
    }

    /** Number of layers left in float. */
    public int floatCount() {
        return layers.size() - quantizedCount();
    }

    /** The layer with the lowest output SQNR, if any layer has one. */
    public Optional<LayerStats> worst() {
        return layers.isEmpty() || !layers.get(0).hasSqnr() ? Optional.empty() : Optional.of(layers.get(0));
    }

    /** Mean output SQNR in dB over the layers with a finite one. */
    public OptionalDouble meanSqnrDb() {
        return layers.stream().filter(LayerStats::hasSqnr).mapToDouble(LayerStats::sqnrDb)
                .filter(Double::isFinite).average();
    }

    /** Number of layers whose output SQNR is below {@code db}. */
    public int countBelow(double db) {
        return (int) layers.stream().filter(s -> s.hasSqnr() && s.sqnrDb() < db).count();
    }

    /**
     * The text of {@code report.json}: two-space indented, keys in a fixed order, non-ASCII kept
     * (UTF-8); strict JSON: a value that does not exist, or an infinite SQNR (fake quant
     * identical to float), is {@code null}. See {@link ReportJson} for the layout.
     */
    public String toJson() {
        return ReportJson.write(this);
    }
}
