package io.quantbridge.report;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The self-contained {@code report.html}: inline CSS and SVG, no script, no external resource.
 * Every piece of text from the model or the user is escaped.
 */
final class ReportHtml {
    /** At most this many layers per chart (the table lists every layer). */
    static final int CHART_LIMIT = 40;
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    private ReportHtml() {
    }

    static String render(QuantReport r) {
        StringBuilder sb = new StringBuilder(16_384 + r.layers().size() * 1_500);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<meta name=\"generator\" content=\"QuantBridge\">\n")
                .append("<title>").append(Html.esc(r.title())).append("</title>\n")
                .append("<style>\n").append(ReportStyle.CSS).append("</style>\n</head>\n<body>\n<main>\n");
        header(sb, r);
        summary(sb, r);
        notes(sb, r);
        accuracy(sb, r);
        charts(sb, r);
        LayerTable.append(sb, r.layers());
        footer(sb);
        return sb.append("</main>\n</body>\n</html>\n").toString();
    }

    private static void header(StringBuilder sb, QuantReport r) {
        long batches = r.layers().stream().mapToLong(LayerStats::batches).max().orElse(0);
        sb.append("<header>\n<h1>").append(Html.esc(r.title())).append("</h1>\n<p class=\"meta\">")
                .append("Framework: <b>").append(Html.esc(r.framework())).append("</b> \u00b7 ")
                .append(Html.esc(WHEN.format(r.created()))).append(" \u00b7 ")
                .append(batches).append(batches == 1 ? " batch" : " batches").append(" analysed \u00b7 ")
                .append(r.layers().size()).append(r.layers().size() == 1 ? " layer" : " layers")
                .append("</p>\n</header>\n");
    }

    private static void summary(StringBuilder sb, QuantReport r) {
        sb.append("<section class=\"cards\" aria-label=\"Summary\">\n");
        card(sb, "Layers quantized", r.quantizedCount() + " / " + r.layers().size(),
                r.floatCount() + (r.floatCount() == 1 ? " layer" : " layers") + " left in float", "");
        var worst = r.worst();
        card(sb, "Worst output SQNR", worst.map(s -> Html.db(s.sqnrDb()) + " dB").orElse(Html.NONE),
                worst.map(LayerStats::name).orElse("no quantized layer"), worst.map(s -> Html.band(s.sqnrDb())).orElse(""));
        var mean = r.meanSqnrDb();
        card(sb, "Mean output SQNR", mean.isPresent() ? Html.db(mean.getAsDouble()) + " dB" : Html.NONE,
                "over the quantized layers", mean.isPresent() ? Html.band(mean.getAsDouble()) : "");
        int poor = r.countBelow(QuantReport.POOR_BELOW_DB);
        int fair = r.countBelow(QuantReport.FAIR_BELOW_DB) - poor;
        card(sb, "Layers below " + Html.num(QuantReport.FAIR_BELOW_DB) + " dB", String.valueOf(poor + fair),
                poor + " below " + Html.num(QuantReport.POOR_BELOW_DB) + " dB (red), " + fair + " amber",
                poor > 0 ? "poor" : fair > 0 ? "fair" : "good");
        sb.append("</section>\n");
    }

    private static void card(StringBuilder sb, String key, String value, String sub, String band) {
        sb.append("<div class=\"card").append(band.isEmpty() ? "" : " card-" + band).append("\"><div class=\"k\">")
                .append(Html.esc(key)).append("</div><div class=\"v\">").append(Html.esc(value))
                .append("</div><div class=\"s\">").append(Html.esc(sub)).append("</div></div>\n");
    }

    private static void notes(StringBuilder sb, QuantReport r) {
        if (r.notes().isEmpty()) {
            return;
        }
        sb.append("<section class=\"notes\"><h2>Notes</h2>\n<ul>\n");
        for (String n : r.notes()) {
            sb.append("<li>").append(Html.esc(n)).append("</li>\n");
        }
        sb.append("</ul>\n</section>\n");
    }

    private static void accuracy(StringBuilder sb, QuantReport r) {
        List<AccuracyRow> rows = r.accuracy();
        if (rows.isEmpty()) {
            return;
        }
        AccuracyRow base = rows.get(0);
        // Percent-like values get two decimals, fractions four; the change uses the same.
        boolean percent = rows.stream().anyMatch(a -> Math.abs(a.accuracy()) > 1.0);
        String pattern = percent ? "%.2f" : "%.4f";
        sb.append("<section><h2>Accuracy</h2>\n<table class=\"accuracy\">\n<thead><tr><th>Stage</th>")
                .append("<th class=\"n\">Accuracy</th><th class=\"n\">Change vs ").append(Html.esc(base.stage()))
                .append("</th></tr></thead>\n<tbody>\n");
        for (int i = 0; i < rows.size(); i++) {
            AccuracyRow row = rows.get(i);
            double delta = row.accuracy() - base.accuracy();
            String change = i == 0 ? Html.NONE : (delta >= 0 ? "+" : "\u2212")
                    + String.format(Locale.ROOT, pattern, Math.abs(delta));
            sb.append("<tr><td>").append(Html.esc(row.stage())).append("</td><td class=\"n\">")
                    .append(Html.esc(Double.isFinite(row.accuracy())
                            ? String.format(Locale.ROOT, pattern, row.accuracy()) : Html.num(row.accuracy())))
                    .append("</td><td class=\"n").append(i > 0 && delta < 0 ? " down" : "").append("\">")
                    .append(Html.esc(change)).append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</section>\n");
    }

    private static void charts(StringBuilder sb, QuantReport r) {
        int quantized = r.quantizedCount();
        sb.append("<section class=\"figure\"><h2>Output SQNR per layer, worst first</h2>\n<p class=\"legend\">")
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.RED).append("\"></span>below ")
                .append(Html.num(QuantReport.POOR_BELOW_DB)).append(" dB ")
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.AMBER).append("\"></span>below ")
                .append(Html.num(QuantReport.FAIR_BELOW_DB)).append(" dB ")
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.GREEN).append("\"></span>")
                .append(Html.num(QuantReport.FAIR_BELOW_DB)).append(" dB and above")
                .append(limitNote(quantized)).append("</p>\n");
        if (r.layers().stream().noneMatch(LayerStats::hasSqnr)) {
            sb.append("<p class=\"empty\">No quantized layer: nothing to plot.</p>\n");
        } else {
            sb.append(SvgCharts.sqnr(r.layers(), CHART_LIMIT));
        }
        sb.append("</section>\n");
        List<LayerStats> clipping = SvgCharts.clipping(r.layers());
        int clean = quantized - clipping.size();
        sb.append("<section class=\"figure\"><h2>Clipped layer inputs</h2>\n<p class=\"legend\">Share of each quantized ")
                .append("layer's input values that saturate the uint8 range, largest first: ")
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.RED).append("\"></span>above ")
                .append(Html.pct(SvgCharts.CLIP_RED)).append(' ')
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.AMBER).append("\"></span>above ")
                .append(Html.pct(SvgCharts.CLIP_AMBER)).append(' ')
                .append("<span class=\"sw\" style=\"background:").append(SvgCharts.BLUE).append("\"></span>less");
        if (clipping.size() > CHART_LIMIT) {
            sb.append(" \u00b7 the first ").append(CHART_LIMIT).append(" of ").append(clipping.size())
                    .append(" clipping layers are shown; the table lists all");
        }
        sb.append("</p>\n");
        if (clipping.isEmpty()) {
            sb.append("<p class=\"empty\">No input value of any quantized layer is clipped: every activation range ")
                    .append("covers the analysed data.</p>\n");
        } else {
            sb.append(SvgCharts.clipped(clipping, CHART_LIMIT));
            if (clean > 0) {
                sb.append("<p class=\"empty\">").append(clean).append(clean == 1 ? " other quantized layer clips"
                        : " other quantized layers clip").append(" no input value.</p>\n");
            }
        }
        sb.append("</section>\n");
    }

    private static String limitNote(int quantized) {
        return quantized > CHART_LIMIT ? " \u00b7 the worst " + CHART_LIMIT + " of " + quantized
                + " quantized layers are shown; the table lists all" : "";
    }

    private static void footer(StringBuilder sb) {
        sb.append("<footer>\n<p><b>Output SQNR</b> = 10\u00b7log<sub>10</sub>(\u03a3y\u00b2 / \u03a3(y \u2212 \u0177)\u00b2)")
                .append(" of a layer's float output y (float weight, float input) against its fake-quant output \u0177, ")
                .append("both computed on the same layer input as the quantized model sees it, so error from earlier ")
                .append("layers is not counted again. \u221e means identical outputs.</p>\n")
                .append("<p><b>Weights</b>: int8, symmetric, one scale per output channel (max|w| / 127; shown for float ")
                .append("layers too, as they would be). <b>Inputs</b>: uint8 with scale s and zero point z; ")
                .append("representable range [(0 \u2212 z)\u00b7s, (255 \u2212 z)\u00b7s]. <b>Clipped</b>: share of input ")
                .append("values x with round(x / s) + z outside [0, 255]. Observed ranges are over the analysed batches.</p>\n")
                .append("<p>Generated by QuantBridge. <code>report.json</code> holds the same numbers at full precision.</p>\n")
                .append("</footer>\n");
    }
}
