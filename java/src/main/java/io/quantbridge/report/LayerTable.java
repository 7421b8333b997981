package io.quantbridge.report;

import java.util.List;

/** The page's per-layer table, worst first (the report's order). */
final class LayerTable {
    private LayerTable() {
    }

    static void append(StringBuilder sb, List<LayerStats> layers) {
        sb.append("<section><h2>Layers, worst first</h2>\n<div class=\"scroll\"><table class=\"layers\">\n<thead>\n")
                .append("<tr class=\"group\"><th colspan=\"3\"></th><th colspan=\"3\" class=\"g\">Weight</th>")
                .append("<th colspan=\"5\" class=\"g\">Input (activation)</th><th class=\"g\">Output</th></tr>\n")
                .append("<tr><th class=\"n\">#</th><th>Layer</th><th>Op \u00b7 strategy</th>")
                .append("<th class=\"n\">Range</th><th class=\"n\">Scale min \u00b7 median \u00b7 max</th>")
                .append("<th class=\"n\">SQNR dB</th>")
                .append("<th class=\"n\">Observed range</th><th class=\"n\">Scale</th><th class=\"n\">Zero pt</th>")
                .append("<th class=\"n\">Clipped</th><th class=\"n\">SQNR dB</th>")
                .append("<th class=\"n\">SQNR dB</th></tr>\n</thead>\n<tbody>\n");
        int i = 0;
        for (LayerStats s : layers) {
            row(sb, ++i, s);
        }
        sb.append("</tbody>\n</table></div>\n</section>\n");
    }

    private static void row(StringBuilder sb, int index, LayerStats s) {
        sb.append("<tr").append(s.quantized() ? "" : " class=\"float\"").append("><td class=\"n\">").append(index)
                // Long names may wrap after each '/'.
                .append("</td><td class=\"name\">").append(Html.esc(s.name()).replace("/", "/<wbr>"))
                .append("</td><td class=\"op\" title=\"").append(Html.esc(s.opType())).append("\">")
                .append(Html.esc(Html.shortOp(s.opType()))).append("<br><span class=\"strategy\">")
                .append(Html.esc(s.quantStrategy())).append("</span></td>");
        WeightStats w = s.weight();
        if (w == null) {
            empty(sb, 3);
        } else {
            cell(sb, Html.range(w.min(), w.max(), 3), null);
            cell(sb, Html.num(w.scaleMin(), 3) + " \u00b7 " + Html.num(w.scaleMedian(), 3) + " \u00b7 "
                    + Html.num(w.scaleMax(), 3), w.channels() + " channels along axis " + w.axis());
            cell(sb, s.quantized() ? Html.db(w.sqnrDb()) : Html.NONE, null);
        }
        ActivationStats a = s.activation();
        if (a == null) {
            empty(sb, 5);
        } else {
            String covers = a.rangeMin() == null ? null
                    : "representable [" + Html.num(a.rangeMin()) + ", " + Html.num(a.rangeMax()) + "] over "
                    + a.count() + " values";
            cell(sb, Html.range(a.min(), a.max(), 3), covers);
            cell(sb, Html.num(a.scale()), null);
            cell(sb, a.zeroPoint() == null ? Html.NONE : String.valueOf(a.zeroPoint()), null);
            cell(sb, Html.pct(a.clippedFraction()), null);
            cell(sb, Html.db(a.sqnrDb()), null);
        }
        String band = Html.band(s.sqnrDb());
        sb.append("<td class=\"n sqnr ").append(band).append("\">").append(Html.esc(Html.db(s.sqnrDb())))
                .append("</td></tr>\n");
    }

    private static void cell(StringBuilder sb, String text, String title) {
        sb.append("<td class=\"n\"");
        if (title != null) {
            sb.append(" title=\"").append(Html.esc(title)).append('"');
        }
        sb.append('>').append(Html.esc(text)).append("</td>");
    }

    private static void empty(StringBuilder sb, int n) {
        for (int k = 0; k < n; k++) {
            sb.append("<td class=\"n\">").append(Html.NONE).append("</td>");
        }
    }
}
