package io.quantbridge.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The report's charts as inline SVG (no scripts, no external resources): horizontal bars, one
 * row per layer, drawn in a 1000-unit-wide view box that scales with the page.
 */
final class SvgCharts {
    /** Colour of bars below {@link QuantReport#POOR_BELOW_DB} (and of heavy clipping). */
    static final String RED = "#d9480f";
    /** Colour of bars below {@link QuantReport#FAIR_BELOW_DB} (and of some clipping). */
    static final String AMBER = "#f0a202";
    /** Colour of good bars. */
    static final String GREEN = "#2f9e44";
    /** Colour of neutral bars. */
    static final String BLUE = "#4c6ef5";
    /** Clipped shares above this fraction are red. */
    static final double CLIP_RED = 0.01;
    /** Clipped shares above this fraction are amber. */
    static final double CLIP_AMBER = 0.001;

    private static final int WIDTH = 1000;
    private static final int LABEL_RIGHT = 300;
    private static final int PLOT_RIGHT = 920;
    private static final int ROW = 22;
    private static final int BAR = 14;
    private static final int TOP = 30;
    private static final int BOTTOM = 30;
    private static final int LABEL_CHARS = 42;

    private SvgCharts() {
    }

    /** One bar: the label, its length on the axis, the text after it, its colour and tooltip. */
    private record Bar(String label, double value, String text, String colour, String tooltip) { }

    /** Output SQNR of the quantized layers, worst first, coloured by threshold; at most {@code limit}. */
    static String sqnr(List<LayerStats> worstFirst, int limit) {
        List<Bar> bars = new ArrayList<>();
        double max = 0;
        for (LayerStats s : worstFirst) {
            if (!s.hasSqnr() || bars.size() >= limit) {
                continue;
            }
            double v = s.sqnrDb();
            if (Double.isFinite(v)) {
                max = Math.max(max, v);
            }
            String colour = switch (Html.band(v)) {
                case "poor" -> RED;
                case "fair" -> AMBER;
                default -> GREEN;
            };
            bars.add(new Bar(s.name(), v, Html.db(v) + " dB", colour, s.name() + ": output SQNR " + Html.db(v) + " dB"));
        }
        double[] axis = axis(Math.max(max * 1.05, QuantReport.FAIR_BELOW_DB + 10), 10);
        return chart("Output SQNR per quantized layer, dB, worst first", bars, axis, "dB",
                new double[] {QuantReport.POOR_BELOW_DB, QuantReport.FAIR_BELOW_DB});
    }

    /** The quantized layers that clip some input values, largest share first. */
    static List<LayerStats> clipping(List<LayerStats> layers) {
        List<LayerStats> out = new ArrayList<>();
        for (LayerStats s : layers) {
            ActivationStats a = s.activation();
            if (s.quantized() && a != null && a.clippedFraction() != null && a.clippedFraction() > 0.0) {
                out.add(s);
            }
        }
        out.sort(Comparator.comparingDouble((LayerStats s) -> -s.activation().clippedFraction()));
        return out;
    }

    /** Share of saturated input values of {@code clipping} (see {@link #clipping}); at most {@code limit}. */
    static String clipped(List<LayerStats> clipping, int limit) {
        List<Bar> bars = new ArrayList<>();
        for (LayerStats s : clipping.subList(0, Math.min(limit, clipping.size()))) {
            double f = s.activation().clippedFraction();
            String colour = f > CLIP_RED ? RED : f > CLIP_AMBER ? AMBER : BLUE;
            bars.add(new Bar(s.name(), f * 100.0, Html.pct(f), colour,
                    s.name() + ": " + Html.pct(f) + " of " + s.activation().count() + " input values clipped"));
        }
        double[] axis = axis(clipping.isEmpty() ? 1.0 : clipping.get(0).activation().clippedFraction() * 100.0, 0);
        return chart("Share of clipped input values per quantized layer, percent, largest first", bars, axis,
                "%", new double[0]);
    }

    /** {@code {axis maximum, tick step}}: a round maximum at or above {@code max}. */
    static double[] axis(double max, double fixedStep) {
        double step = fixedStep;
        if (step <= 0) {
            double raw = Math.max(max, 1e-9) / 5.0;
            double mag = Math.pow(10, Math.floor(Math.log10(raw)));
            double norm = raw / mag;
            step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
        } else if (max / step > 10) {
            step = Math.ceil(max / step / 10) * step;
        }
        return new double[] {Math.max(step, Math.ceil(max / step - 1e-9) * step), step};
    }

    private static String chart(String title, List<Bar> bars, double[] axis, String unit, double[] thresholds) {
        double axisMax = axis[0];
        double step = axis[1];
        int plotLeft = LABEL_RIGHT + 10;
        double plotWidth = PLOT_RIGHT - plotLeft;
        int height = TOP + bars.size() * ROW + BOTTOM;
        int bottom = TOP + bars.size() * ROW;
        StringBuilder sb = new StringBuilder(512 + bars.size() * 400);
        sb.append("<svg class=\"chart\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
                .append("\" role=\"img\" aria-label=\"").append(Html.esc(title))
                .append("\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\" font-size=\"12\">\n");
        sb.append("<title>").append(Html.esc(title)).append("</title>\n");
        // grid and tick labels
        for (int i = 0; i * step <= axisMax + step * 1e-9; i++) {
            double v = i * step;
            String x = fmt(plotLeft + plotWidth * v / axisMax);
            sb.append("<line x1=\"").append(x).append("\" y1=\"").append(TOP - 4).append("\" x2=\"").append(x)
                    .append("\" y2=\"").append(bottom).append("\" stroke=\"#e5e7eb\"/>");
            sb.append("<text x=\"").append(x).append("\" y=\"").append(bottom + 16)
                    .append("\" text-anchor=\"middle\" fill=\"#6b7280\">").append(Html.esc(Html.num(v, 3)))
                    .append("</text>\n");
        }
        sb.append("<text x=\"").append(PLOT_RIGHT).append("\" y=\"").append(bottom + 16)
                .append("\" dx=\"14\" fill=\"#6b7280\">").append(Html.esc(unit)).append("</text>\n");
        for (double t : thresholds) {
            if (t > axisMax) {
                continue;
            }
            String x = fmt(plotLeft + plotWidth * t / axisMax);
            sb.append("<line x1=\"").append(x).append("\" y1=\"").append(TOP - 8).append("\" x2=\"").append(x)
                    .append("\" y2=\"").append(bottom).append("\" stroke=\"#374151\" stroke-dasharray=\"4 3\"/>");
            sb.append("<text x=\"").append(x).append("\" y=\"").append(TOP - 12)
                    .append("\" text-anchor=\"middle\" fill=\"#374151\">").append(Html.esc(Html.num(t, 3) + " " + unit))
                    .append("</text>\n");
        }
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            int y = TOP + i * ROW;
            double frac = Double.isNaN(b.value()) ? 0 : Math.max(0, Math.min(1, b.value() / axisMax));
            double w = plotWidth * frac;
            sb.append("<g><title>").append(Html.esc(b.tooltip())).append("</title>");
            sb.append("<text x=\"").append(LABEL_RIGHT).append("\" y=\"").append(y + ROW / 2 + 4)
                    .append("\" text-anchor=\"end\" fill=\"#1f2937\">").append(Html.esc(Html.middle(b.label(), LABEL_CHARS)))
                    .append("</text>");
            sb.append("<rect x=\"").append(plotLeft).append("\" y=\"").append(y + (ROW - BAR) / 2)
                    .append("\" width=\"").append(fmt(w)).append("\" height=\"").append(BAR)
                    .append("\" rx=\"2\" fill=\"").append(b.colour()).append("\"/>");
            sb.append("<text x=\"").append(fmt(plotLeft + w + 5)).append("\" y=\"").append(y + ROW / 2 + 4)
                    .append("\" fill=\"#1f2937\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">")
                    .append(Html.esc(b.text())).append("</text></g>\n");
        }
        sb.append("<line x1=\"").append(plotLeft).append("\" y1=\"").append(TOP - 4).append("\" x2=\"").append(plotLeft)
                .append("\" y2=\"").append(bottom).append("\" stroke=\"#9ca3af\"/>\n");
        return sb.append("</svg>\n").toString();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
